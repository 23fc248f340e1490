package io.keelson.dataplane.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LoadBalancerTest {
  private static final int PICKS = 20_000;

  private static ClusterConfig cluster(LbPolicy policy, int... weights) {
    List<EndpointConfig> endpoints = new ArrayList<>();
    for (int i = 0; i < weights.length; i++) {
      endpoints.add(new EndpointConfig("10.0.0." + (i + 1), 8080, weights[i]));
    }
    return ClusterConfig.builder("c", policy, Duration.ofSeconds(5), endpoints).build();
  }

  private static LoadBalancer balancer(LbPolicy policy, int... weights) {
    return LoadBalancer.create(cluster(policy, weights), new SplittableRandom(42));
  }

  private static int[] counts(LoadBalancer lb, int picks) {
    int[] counts = new int[lb.size()];
    for (int i = 0; i < picks; i++) {
      counts[lb.pick()]++;
    }
    return counts;
  }

  private static void assertShares(int[] counts, int... weights) {
    int total = IntStream.of(weights).sum();
    int picks = IntStream.of(counts).sum();
    for (int i = 0; i < weights.length; i++) {
      assertThat((double) counts[i] / picks)
          .as("share of endpoint %d", i)
          .isCloseTo((double) weights[i] / total, within(0.02));
    }
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"})
  void emptyClusterPicksNothing(LbPolicy policy) {
    LoadBalancer lb = balancer(policy);
    assertThat(lb.size()).isZero();
    assertThat(lb.pick()).isEqualTo(-1);
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"})
  void singleEndpointIsAlwaysPicked(LbPolicy policy) {
    LoadBalancer lb = balancer(policy, 5);
    assertThat(counts(lb, 100)).containsExactly(100);
    assertThat(lb.endpoint(0)).isEqualTo(new EndpointConfig("10.0.0.1", 8080, 5));
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"})
  void distributionFollowsWeights(LbPolicy policy) {
    assertShares(counts(balancer(policy, 1, 2, 7), PICKS), 1, 2, 7);
    assertShares(counts(balancer(policy, 1, 1, 1, 1), PICKS), 1, 1, 1, 1);
    assertShares(counts(balancer(policy, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 5 * PICKS), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
  }

  @Test
  void roundRobinHonoursWeightsExactlyOverEveryCycle() {
    LoadBalancer lb = balancer(LbPolicy.ROUND_ROBIN, 5, 1, 1);
    for (int cycle = 0; cycle < 10; cycle++) {
      assertThat(counts(lb, 7)).containsExactly(5, 1, 1);
    }
    LoadBalancer equal = balancer(LbPolicy.ROUND_ROBIN, 1, 1, 1);
    for (int cycle = 0; cycle < 10; cycle++) {
      assertThat(counts(equal, 3)).containsExactly(1, 1, 1);
    }
  }

  @Test
  void roundRobinCycleTooLongForATableIsStillExact() {
    // 9,000 > RoundRobinBalancer.MAX_TABLE: the smooth algorithm runs live.
    LoadBalancer lb = balancer(LbPolicy.ROUND_ROBIN, 5000, 3000, 1000);
    for (int cycle = 0; cycle < 3; cycle++) {
      assertThat(counts(lb, 9000)).containsExactly(5000, 3000, 1000);
    }
  }

  @Test
  void roundRobinInterleavesRatherThanSendingRuns() {
    LoadBalancer lb = balancer(LbPolicy.ROUND_ROBIN, 5, 1, 1);
    int run = 0;
    int longest = 0;
    for (int i = 0; i < 70; i++) {
      run = lb.pick() == 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    // nginx's smooth sequence for 5,1,1 is a a b a c a a: at most 4 in a row across cycle edges.
    assertThat(longest).isLessThanOrEqualTo(4);
  }

  @Test
  void roundRobinHandlesLargeWeights() {
    LoadBalancer lb = balancer(LbPolicy.ROUND_ROBIN, 1_000_000, 3_000_000);
    assertShares(counts(lb, 4_000), 1, 3);
  }

  @Test
  void powerOfTwoChoicesNeverPicksTheBusiestOfThree() {
    LoadBalancer lb = balancer(LbPolicy.LEAST_REQUEST, 1, 1, 1);
    for (int i = 0; i < 10; i++) {
      lb.onRequestStart(0);
    }
    int[] counts = counts(lb, 3_000);
    // Two distinct candidates: endpoint 0 always meets a less-loaded one.
    assertThat(counts[0]).isZero();
    assertThat(counts[1] + counts[2]).isEqualTo(3_000);
  }

  @Test
  void powerOfTwoChoicesFollowsLoadAsRequestsStartAndEnd() {
    LoadBalancer lb = balancer(LbPolicy.LEAST_REQUEST, 1, 1);
    for (int i = 0; i < 1_000; i++) {
      int chosen = lb.pick();
      lb.onRequestStart(chosen);
    }
    // With two endpoints the less-loaded one always wins, so load stays balanced within one request.
    assertThat(Math.abs(lb.activeRequests(0) - lb.activeRequests(1))).isLessThanOrEqualTo(1);
  }

  @Test
  void weightedLeastRequestBiasesAwayFromActiveRequests() {
    LoadBalancer lb = balancer(LbPolicy.LEAST_REQUEST, 1, 3);
    assertShares(counts(lb, PICKS), 1, 3);
    // Effective weights 1/(0+1) = 1 and 3/(5+1) = 0.5: endpoint 0 now gets two thirds.
    for (int i = 0; i < 5; i++) {
      lb.onRequestStart(1);
    }
    assertShares(counts(lb, PICKS), 2, 1);
    for (int i = 0; i < 5; i++) {
      lb.onRequestEnd(1);
    }
    assertShares(counts(lb, PICKS), 1, 3);
  }

  @Test
  void activeRequestCountsAreSafeAcrossThreads() throws Exception {
    LoadBalancer lb = balancer(LbPolicy.LEAST_REQUEST, 1, 1);
    int threads = 4;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread w = Thread.ofPlatform().start(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        for (int i = 0; i < 10_000; i++) {
          lb.onRequestStart(1);
          if (i % 2 == 0) {
            lb.onRequestEnd(1);
          }
        }
      });
      workers.add(w);
    }
    start.countDown();
    for (Thread w : workers) {
      w.join();
    }
    assertThat(lb.activeRequests(1)).isEqualTo(threads * 5_000);
  }

  @Test
  void maglevAndRingHashPickByHashAndRandomlyWithout() {
    for (LbPolicy policy : new LbPolicy[] {LbPolicy.MAGLEV, LbPolicy.RING_HASH}) {
      LoadBalancer lb = balancer(policy, 1, 1, 1);
      int byHash = lb.pick(XxHash64.hash("user-42"));
      for (int i = 0; i < 100; i++) {
        assertThat(lb.pick(XxHash64.hash("user-42"))).as(policy + " is consistent").isEqualTo(byHash);
        assertThat(lb.pick()).isBetween(0, 2);
      }
    }
  }
}
