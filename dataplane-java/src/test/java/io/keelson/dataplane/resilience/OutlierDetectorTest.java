package io.keelson.dataplane.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.config.OutlierDetectionConfig;
import io.keelson.dataplane.stats.ClusterStats;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Ejection and un-ejection timing on an injected clock. */
class OutlierDetectorTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final ClusterStats stats = new StatsRegistry().cluster("c");

  private static OutlierDetectionConfig config(int consecutive5xx, int maxEjectionPercent) {
    var d = OutlierDetectionConfig.DEFAULTS;
    return new OutlierDetectionConfig(consecutive5xx, 5, Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(300),
        maxEjectionPercent, 100, 0, 100, d.successRateMinimumHosts(), d.successRateRequestVolume(), d.successRateStdevFactor(),
        d.failurePercentageThreshold(), d.enforcingFailurePercentage(), d.failurePercentageMinimumHosts(),
        d.failurePercentageRequestVolume());
  }

  private OutlierDetector detector(OutlierDetectionConfig config, int endpoints) {
    EndpointHealth[] health = new EndpointHealth[endpoints];
    for (int i = 0; i < endpoints; i++) {
      health[i] = new EndpointHealth();
    }
    return new OutlierDetector(config, health, stats, now::get);
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  @Test
  void ejectsAtExactlyTheConsecutive5xxThresholdAndASuccessResetsTheCount() {
    OutlierDetector d = detector(config(3, 50), 3);
    d.onResponse(0, 500);
    d.onResponse(0, 500);
    d.onResponse(0, 200);
    d.onResponse(0, 500);
    d.onResponse(0, 500);
    assertThat(d.health(0).available()).isTrue();
    d.onResponse(0, 503);
    assertThat(d.health(0).available()).isFalse();
    assertThat(d.ejectedCount()).isEqualTo(1);
    assertThat(stats.ejectionsEnforced[ClusterStats.EjectionType.CONSECUTIVE_5XX.ordinal()].sum()).isEqualTo(1);
  }

  @Test
  void anEjectionLastsBaseTimeThenBaseTimeTimesTheNumberOfEjections() {
    OutlierDetector d = detector(config(1, 50), 3);
    d.onResponse(0, 500);
    assertThat(d.health(0).available()).isFalse();
    advance(Duration.ofSeconds(29));
    d.onResponse(1, 200);
    assertThat(d.health(0).available()).as("still ejected before 30 s").isFalse();
    advance(Duration.ofSeconds(1));
    d.onResponse(1, 200);
    assertThat(d.health(0).available()).as("back after base_ejection_time").isTrue();
    d.onResponse(0, 500); // ejected again at once: the second ejection lasts 2 × 30 s
    assertThat(d.health(0).available()).isFalse();
    advance(Duration.ofSeconds(59));
    d.maybeRunTimers();
    assertThat(d.health(0).available()).isFalse();
    advance(Duration.ofSeconds(1));
    d.maybeRunTimers();
    assertThat(d.health(0).available()).isTrue();
  }

  @Test
  void maxEjectionPercentLimitsHowManyAreEjectedAtOnce() {
    OutlierDetector d = detector(config(1, 10), 3);
    d.onResponse(0, 500);
    d.onResponse(1, 500);
    d.onResponse(2, 500);
    assertThat(d.ejectedCount()).as("0% < 10% lets the first go; 33% stops the rest").isEqualTo(1);
    assertThat(stats.ejectionsOverflow.sum()).isEqualTo(2);
  }

  @Test
  void successRateEjectsTheHostFarBelowTheOthersAtTheEndOfTheInterval() {
    OutlierDetector d = detector(config(1000, 50), 5);
    for (int r = 0; r < 200; r++) {
      for (int i = 0; i < 5; i++) {
        d.onResponse(i, i == 3 && r % 2 == 0 ? 500 : 200);
      }
    }
    assertThat(d.ejectedCount()).isZero();
    advance(Duration.ofSeconds(10));
    d.maybeRunTimers();
    assertThat(d.health(3).available()).isFalse();
    assertThat(d.ejectedCount()).isEqualTo(1);
    assertThat(stats.ejectionsEnforced[ClusterStats.EjectionType.SUCCESS_RATE.ordinal()].sum()).isEqualTo(1);
  }

  @Test
  void failurePercentageEjectsWhenEnforced() {
    var d0 = OutlierDetectionConfig.DEFAULTS;
    var cfg = new OutlierDetectionConfig(1000, 1000, Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(300),
        50, 100, 0, 0, 5, 100, 1.9, 50, 100, 2, 10);
    OutlierDetector d = detector(cfg, 3);
    for (int r = 0; r < 20; r++) {
      d.onResponse(0, 200);
      d.onResponse(1, r % 10 < 6 ? 503 : 200);
      d.onResponse(2, 200);
    }
    advance(Duration.ofSeconds(10));
    d.maybeRunTimers();
    assertThat(d.health(1).available()).isFalse();
    assertThat(d.health(0).available()).isTrue();
    assertThat(d0.enforcingFailurePercentage()).as("off by default, as in Envoy").isZero();
  }

  @Test
  void ejectionsSurviveANewDetectorOverTheSameHealthObjects() {
    EndpointHealth[] health = {new EndpointHealth(), new EndpointHealth()};
    OutlierDetector first = new OutlierDetector(config(1, 50), health, stats, now::get);
    first.onResponse(1, 502);
    OutlierDetector second = new OutlierDetector(config(1, 50), health, stats, now::get);
    assertThat(second.ejectedCount()).isEqualTo(1);
    advance(Duration.ofSeconds(30));
    second.maybeRunTimers();
    assertThat(health[1].available()).isTrue();
  }

  @Test
  void aSuccessReportedWithAClockHintRunsTimersOnlyOnceTheHintReachesTheirDueTime() {
    OutlierDetector d = detector(config(1, 50), 3);
    d.onResponse(0, 500);
    assertThat(d.health(0).available()).isFalse();
    long ejectedAt = now.get();
    advance(Duration.ofSeconds(31));
    // The first timer due is the interval's end (10 s after the ejection); a request started before it
    // hands a stale hint, so nothing runs yet, though the ejection (30 s) is over by the real clock.
    d.onResponse(1, 200, ejectedAt + Duration.ofSeconds(5).toNanos());
    assertThat(d.health(0).available()).as("a stale hint runs no timers").isFalse();
    d.onResponse(1, 200, now.get() - 1);
    assertThat(d.health(0).available()).as("a recent hint runs them, on the real clock").isTrue();
    assertThat(d.ejectedCount()).isZero();
  }

  @Test
  void aClusterBelowBothMinimumHostsStillDecaysItsEjectionCountEachInterval() {
    OutlierDetector d = detector(config(1, 50), 3); // 3 < 5 minimum hosts: no success-rate accounting
    d.onResponse(0, 500);
    advance(Duration.ofSeconds(30));
    d.onResponse(1, 200);
    assertThat(d.health(0).available()).isTrue();
    // Two intervals (10 s) in: the count fell back to 0, so the next ejection lasts the base time again.
    advance(Duration.ofSeconds(10));
    d.onResponse(1, 200);
    advance(Duration.ofSeconds(10));
    d.onResponse(1, 200);
    d.onResponse(0, 500);
    advance(Duration.ofSeconds(30));
    d.onResponse(1, 200);
    assertThat(d.health(0).available()).as("base time, not twice it").isTrue();
  }

  /** 5xx counting off (enforcing 0), local-origin errors split and ejecting after 2 in a row. */
  private static OutlierDetectionConfig splitLocalOrigin() {
    var d = OutlierDetectionConfig.DEFAULTS;
    return new OutlierDetectionConfig(1, 1, Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(300),
        100, 0, 0, 0, d.successRateMinimumHosts(), d.successRateRequestVolume(), d.successRateStdevFactor(),
        d.failurePercentageThreshold(), 0, d.failurePercentageMinimumHosts(), d.failurePercentageRequestVolume(),
        true, 2, 100);
  }

  @Test
  void splitLocalOriginFailuresEjectOnTheirOwnCountAndAResponseResetsIt() {
    OutlierDetector d = detector(splitLocalOrigin(), 3);
    d.onResponse(0, 503); // 5xx counting is off: detected, not enforced
    d.onResponse(0, 503);
    assertThat(d.health(0).available()).isTrue();
    d.onLocalFailure(1);
    d.onResponse(1, 503); // a response (even a 5xx): the connection worked, the local count starts again
    d.onLocalFailure(1);
    assertThat(d.health(1).available()).isTrue();
    d.onLocalFailure(1);
    assertThat(d.health(1).available()).as("two local-origin failures in a row").isFalse();
    assertThat(stats.ejectionsEnforced[ClusterStats.EjectionType.CONSECUTIVE_LOCAL_ORIGIN_FAILURE.ordinal()].sum())
        .isEqualTo(1);
    assertThat(stats.ejectionsDetected[ClusterStats.EjectionType.CONSECUTIVE_GATEWAY_FAILURE.ordinal()].sum())
        .as("split: local-origin failures are not gateway failures").isZero();
  }

  @Test
  void anEjectionDeclinedByMaxEjectionPercentIsDetectedAgainAfterAsManyMoreFailures() {
    OutlierDetector d = detector(config(2, 30), 3);
    d.onResponse(1, 500);
    d.onResponse(1, 500);
    assertThat(d.health(1).available()).isFalse();
    d.onResponse(0, 500);
    d.onResponse(0, 500); // one of three ejected already: 33 % >= 30 %, declined
    assertThat(d.health(0).available()).isTrue();
    assertThat(stats.ejectionsOverflow.sum()).isEqualTo(1);
    advance(Duration.ofSeconds(30));
    d.onResponse(2, 200); // endpoint 1's ejection ends
    assertThat(d.health(1).available()).isTrue();
    d.onResponse(0, 500);
    assertThat(d.health(0).available()).as("the count started again at the declined ejection").isTrue();
    d.onResponse(0, 500);
    assertThat(d.health(0).available()).as("two more 5xx in a row: detected and ejected this time").isFalse();
    assertThat(stats.ejectionsDetected[ClusterStats.EjectionType.CONSECUTIVE_5XX.ordinal()].sum()).isEqualTo(3);
  }

  @Test
  void aDeclinedLocalOriginEjectionIsDetectedAgain() {
    var d0 = OutlierDetectionConfig.DEFAULTS;
    OutlierDetectionConfig notEnforced = new OutlierDetectionConfig(1, 1, Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(300), 100, 0, 0, 0, d0.successRateMinimumHosts(), d0.successRateRequestVolume(),
        d0.successRateStdevFactor(), d0.failurePercentageThreshold(), 0, d0.failurePercentageMinimumHosts(),
        d0.failurePercentageRequestVolume(), true, 2, 0);
    OutlierDetector d = detector(notEnforced, 3);
    for (int i = 0; i < 4; i++) {
      d.onLocalFailure(0);
    }
    assertThat(stats.ejectionsDetected[ClusterStats.EjectionType.CONSECUTIVE_LOCAL_ORIGIN_FAILURE.ordinal()].sum())
        .as("every second failure in a row, enforced or not").isEqualTo(2);
  }

  @Test
  void aDeclinedGatewayEjectionIsDetectedAgain() {
    OutlierDetector d = detector(config(1000, 100), 3); // consecutive_gateway_failure 5, enforced 0 in config()
    for (int i = 0; i < 10; i++) {
      d.onResponse(0, 502);
    }
    assertThat(stats.ejectionsDetected[ClusterStats.EjectionType.CONSECUTIVE_GATEWAY_FAILURE.ordinal()].sum())
        .isEqualTo(2);
  }

  @Test
  void unsplitLocalFailuresCountAsGatewayFailures() {
    OutlierDetector d = detector(config(1000, 100), 3); // consecutive_gateway_failure 5, enforced 0 in config()
    for (int i = 0; i < 5; i++) {
      d.onLocalFailure(2);
    }
    assertThat(stats.ejectionsDetected[ClusterStats.EjectionType.CONSECUTIVE_GATEWAY_FAILURE.ordinal()].sum())
        .isEqualTo(1);
    assertThat(stats.ejectionsDetected[ClusterStats.EjectionType.CONSECUTIVE_LOCAL_ORIGIN_FAILURE.ordinal()].sum())
        .isZero();
  }
}
