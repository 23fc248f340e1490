package io.keelson.dataplane.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.stats.ClusterStats;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The protocol-agnostic retry state machine on its own. */
class RetryStateTest {
  private final ClusterStats stats = new StatsRegistry().cluster("c");
  private final CircuitBreakers.Resources resources = new CircuitBreakers().of(false);

  private static RetryPolicy policy(int retryOn, int retries) {
    return new RetryPolicy(retryOn, retries, Duration.ZERO, Duration.ofMillis(25), Duration.ofMillis(100), new int[] {418},
        true, 2, 1024);
  }

  @Test
  void grpcConditionsReadTheGrpcStatusHeader() {
    RetryState r = new RetryState(new SplittableRandom(1));
    r.begin(policy(RetryPolicy.RETRY_ON_GRPC_UNAVAILABLE | RetryPolicy.RETRY_ON_GRPC_DEADLINE_EXCEEDED, 1), resources,
        CircuitBreakerConfig.Thresholds.DEFAULTS, stats);
    assertThat(r.wantsGrpcStatus()).isTrue();
    assertThat(r.retriableStatus(200, "14")).isTrue();
    assertThat(r.retriableStatus(200, "4")).isTrue();
    assertThat(r.retriableStatus(200, "8")).as("resource-exhausted not asked for").isFalse();
    assertThat(r.retriableStatus(200, "0")).isFalse();
    assertThat(r.retriableStatus(503, null)).as("5xx not asked for").isFalse();
  }

  @Test
  void backoffIsFullJitterUnderAnExponentialCeilingCappedAtMaxInterval() {
    RetryState r = new RetryState(new SplittableRandom(2));
    r.begin(policy(RetryPolicy.RETRY_ON_5XX, 5), resources,
        new CircuitBreakerConfig.Thresholds(1024, 1024, 1024, 100, null), stats);
    long[] ceilings = {25, 50, 100, 100, 100};
    for (long ceilingMs : ceilings) {
      assertThat(r.tryRetry()).isEqualTo(RetryState.Decision.RETRY);
      long max = 0;
      for (int i = 0; i < 2000; i++) {
        long b = r.backoffNanos();
        assertThat(b).isBetween(0L, ceilingMs * 1_000_000 - 1);
        max = Math.max(max, b);
      }
      assertThat(max).as("uses the whole range").isGreaterThan(ceilingMs * 900_000);
    }
    assertThat(r.tryRetry()).isEqualTo(RetryState.Decision.LIMIT_EXCEEDED);
    assertThat(stats.rqRetry.sum()).isEqualTo(5);
    assertThat(stats.rqRetryLimitExceeded.sum()).isEqualTo(1);
  }

  @Test
  void aRetryHoldsOneMaxRetriesSlotUntilTheRequestEnds() {
    var thresholds = new CircuitBreakerConfig.Thresholds(1024, 1024, 1024, 1, null);
    RetryState first = new RetryState(new SplittableRandom(3));
    RetryState second = new RetryState(new SplittableRandom(4));
    first.begin(policy(RetryPolicy.RETRY_ON_5XX, 3), resources, thresholds, stats);
    second.begin(policy(RetryPolicy.RETRY_ON_5XX, 3), resources, thresholds, stats);
    assertThat(first.tryRetry()).isEqualTo(RetryState.Decision.RETRY);
    assertThat(second.tryRetry()).isEqualTo(RetryState.Decision.OVERFLOW);
    assertThat(first.tryRetry()).as("its own slot is reused").isEqualTo(RetryState.Decision.RETRY);
    first.end();
    assertThat(resources.retries()).isZero();
    assertThat(second.tryRetry()).isEqualTo(RetryState.Decision.RETRY);
    assertThat(stats.rqRetryOverflow.sum()).isEqualTo(1);
  }

  @Test
  void thePreviousHostsPredicateRejectsOnlyHostsAlreadyTried() {
    RetryState r = new RetryState(new SplittableRandom(5));
    r.begin(policy(RetryPolicy.RETRY_ON_5XX, 2), resources, CircuitBreakerConfig.Thresholds.DEFAULTS, stats);
    r.onHostTried(2);
    assertThat(r.rejects(2)).isTrue();
    assertThat(r.rejects(1)).isFalse();
    assertThat(r.hostSelectionAttempts()).isEqualTo(2);
    r.begin(policy(RetryPolicy.RETRY_ON_5XX, 2), resources, CircuitBreakerConfig.Thresholds.DEFAULTS, stats);
    assertThat(r.rejects(2)).as("a new request starts afresh").isFalse();
  }
}
