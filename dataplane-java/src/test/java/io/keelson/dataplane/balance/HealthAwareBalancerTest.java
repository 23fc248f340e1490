package io.keelson.dataplane.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class HealthAwareBalancerTest {
  private static HealthAwareBalancer balancer(LbPolicy policy, EndpointHealth[] health) {
    List<EndpointConfig> eps = new ArrayList<>();
    for (int i = 0; i < health.length; i++) {
      eps.add(new EndpointConfig("127.0.0.1", 1000 + i, 1));
    }
    return new HealthAwareBalancer(LoadBalancer.create(ClusterConfig.builder("c", policy, Duration.ofSeconds(1), eps).build(), new SplittableRandom(7)), health);
  }

  private static EndpointHealth[] healthy(int n) {
    EndpointHealth[] h = new EndpointHealth[n];
    for (int i = 0; i < n; i++) {
      h[i] = new EndpointHealth();
    }
    return h;
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"})
  void neverPicksAnEjectedOrHealthCheckFailedEndpointWhileOthersAreAvailable(LbPolicy policy) {
    EndpointHealth[] h = healthy(4);
    h[1].set(EndpointHealth.EJECTED, true);
    h[2].set(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK, true);
    HealthAwareBalancer lb = balancer(policy, h);
    int[] counts = new int[4];
    for (int i = 0; i < 10_000; i++) {
      counts[lb.pick()]++;
    }
    assertThat(counts[1]).isZero();
    assertThat(counts[2]).isZero();
    assertThat(counts[0]).isPositive();
    assertThat(counts[3]).isPositive();
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"})
  void panicsToTheWholeClusterWhenNothingIsAvailable(LbPolicy policy) {
    EndpointHealth[] h = healthy(3);
    for (EndpointHealth e : h) {
      e.set(EndpointHealth.EJECTED, true);
    }
    HealthAwareBalancer lb = balancer(policy, h);
    for (int i = 0; i < 100; i++) {
      assertThat(lb.pick()).isBetween(0, 2);
    }
    h[0].set(EndpointHealth.EJECTED, false);
    assertThat(lb.pick()).isZero();
  }
}
