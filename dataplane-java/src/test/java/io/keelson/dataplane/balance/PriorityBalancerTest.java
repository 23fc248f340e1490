package io.keelson.dataplane.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.testing.ProxyHarness;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Envoy's priority levels: level 0 takes the traffic while it is healthy enough (its available share times the 1.4
 * overprovisioning factor), spills the rest to level 1, fails over completely when it has nothing available, and
 * everything goes to level 0 when nothing is available anywhere. Also the translation of {@code priority} and
 * Envoy's no-gap rule.
 */
class PriorityBalancerTest {

  /** Endpoints 10.0.0.1-4 at priority 0 and 10.0.1.1-4 at priority 1. */
  private static List<EndpointConfig> twoLevels() {
    List<EndpointConfig> eps = new ArrayList<>();
    for (int p = 0; p < 2; p++) {
      for (int i = 1; i <= 4; i++) {
        eps.add(new EndpointConfig("10.0." + p + "." + i, 80, 1, "", 0, p));
      }
    }
    return eps;
  }

  private static EndpointHealth[] healthy(int n) {
    EndpointHealth[] h = new EndpointHealth[n];
    for (int i = 0; i < n; i++) {
      h[i] = new EndpointHealth();
    }
    return h;
  }

  private static LoadBalancer create(LbPolicy policy) {
    return LoadBalancer.create(ClusterConfig.builder("c", policy, Duration.ofSeconds(1), twoLevels()).build(),
        new SplittableRandom(3));
  }

  /** Picks per endpoint over {@code n} picks. */
  private static int[] counts(LoadBalancer lb, int n) {
    int[] counts = new int[lb.size()];
    for (int i = 0; i < n; i++) {
      int chosen = lb.pick();
      lb.onRequestStart(chosen);
      lb.onRequestEnd(chosen);
      counts[chosen]++;
    }
    return counts;
  }

  private static int level(int[] counts, int level) {
    int sum = 0;
    for (int i = level * 4; i < level * 4 + 4; i++) {
      sum += counts[i];
    }
    return sum;
  }

  @Test
  void aHealthyFirstLevelTakesEverythingWithOrWithoutHealthTracking() {
    assertThat(create(LbPolicy.ROUND_ROBIN)).isInstanceOf(PriorityBalancer.class);
    int[] untracked = counts(create(LbPolicy.ROUND_ROBIN), 4000);
    assertThat(level(untracked, 1)).isZero();
    assertThat(untracked).startsWith(1000, 1000, 1000, 1000);
    EndpointHealth[] h = healthy(8);
    int[] tracked = counts(new HealthAwareBalancer(create(LbPolicy.ROUND_ROBIN), h), 4000);
    assertThat(level(tracked, 1)).isZero();
    h[0].set(EndpointHealth.EJECTED, true); // 3 of 4: 75% x 1.4 = 105% -> still all of the traffic
    int[] oneDown = counts(new HealthAwareBalancer(create(LbPolicy.ROUND_ROBIN), h), 4000);
    assertThat(level(oneDown, 1)).isZero();
    assertThat(oneDown[0]).as("the ejected endpoint").isZero();
  }

  @Test
  void aHalfHealthyFirstLevelKeepsSeventyPercentAndSpillsTheRest() {
    EndpointHealth[] h = healthy(8);
    h[0].set(EndpointHealth.EJECTED, true);
    h[1].set(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK, true); // 2 of 4: 50% x 1.4 = 70%
    PriorityBalancer p = (PriorityBalancer) create(LbPolicy.RANDOM);
    LoadBalancer lb = new HealthAwareBalancer(p, h);
    int[] loads = new int[2];
    p.loads(loads);
    assertThat(loads).containsExactly(70, 30);
    int[] c = counts(lb, 20_000);
    assertThat(level(c, 0) / 20_000.0).isBetween(0.67, 0.73);
    assertThat(c[0] + c[1]).as("unavailable endpoints of level 0").isZero();
    for (int i = 4; i < 8; i++) {
      assertThat(c[i]).as("level 1 is balanced across its endpoints").isGreaterThan(1_000);
    }
  }

  @Test
  void aFirstLevelWithNothingAvailableFailsOverAndNothingAnywhereIsPanicAtLevelZero() {
    EndpointHealth[] h = healthy(8);
    for (int i = 0; i < 4; i++) {
      h[i].set(EndpointHealth.EJECTED, true);
    }
    PriorityBalancer p = (PriorityBalancer) create(LbPolicy.LEAST_REQUEST);
    LoadBalancer lb = new HealthAwareBalancer(p, h);
    int[] c = counts(lb, 4000);
    assertThat(level(c, 0)).isZero();
    for (int i = 4; i < 8; i++) {
      assertThat(c[i]).as("level 1 balanced by least request: %s", java.util.Arrays.toString(c)).isBetween(800, 1200);
    }
    h[5].set(EndpointHealth.EJECTED, true);
    h[6].set(EndpointHealth.EJECTED, true); // level 1 at 70%: normalized to all of the traffic (level 0 has none)
    int[] loads = new int[2];
    p.loads(loads);
    assertThat(loads).containsExactly(0, 100);
    for (int i = 4; i < 8; i++) {
      h[i].set(EndpointHealth.EJECTED, true);
    }
    p.loads(loads);
    assertThat(loads).as("panic").containsExactly(100, 0);
    assertThat(lb.pick()).as("panic: level 0").isBetween(0, 3);
  }

  @Test
  void theLevelsLoadsAreScaledUpWhenTheirHealthAddsUpToLessThanAll() {
    EndpointHealth[] h = healthy(8);
    h[0].set(EndpointHealth.EJECTED, true);
    h[1].set(EndpointHealth.EJECTED, true);
    h[2].set(EndpointHealth.EJECTED, true); // level 0: 25% x 1.4 = 35
    h[4].set(EndpointHealth.EJECTED, true);
    h[5].set(EndpointHealth.EJECTED, true);
    h[6].set(EndpointHealth.EJECTED, true); // level 1: 35; total 70 -> 50/50
    PriorityBalancer p = (PriorityBalancer) create(LbPolicy.ROUND_ROBIN);
    new HealthAwareBalancer(p, h);
    int[] loads = new int[2];
    p.loads(loads);
    assertThat(loads).containsExactly(50, 50);
  }

  @Test
  void aSingleLevelClusterKeepsItsPlainBalancer() {
    var eps = List.of(new EndpointConfig("10.0.0.1", 80, 1), new EndpointConfig("10.0.0.2", 80, 1));
    assertThat(LoadBalancer.create(ClusterConfig.builder("c", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), eps).build(),
        new SplittableRandom(1))).isInstanceOf(RoundRobinBalancer.class);
  }

  private static String cluster(String localities) {
    return """
          - name: backend
            connect_timeout: 1s
            type: STATIC
            lb_policy: ROUND_ROBIN
            load_assignment:
              cluster_name: backend
              endpoints:
        """ + localities;
  }

  @Test
  void priorityIsReadFromTheAssignmentAndAGapIsRefusedByPath() throws Exception {
    String yaml = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, cluster("""
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 81 } } } } ]
              - priority: 1
                lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.2, port_value: 82 } } } } ]
        """));
    var c = BootstrapLoader.fromYaml(yaml, "p.yaml").cluster("backend");
    assertThat(c.endpoints()).extracting(EndpointConfig::priority).containsExactly(0, 1);
    String gap = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, cluster("""
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 81 } } } } ]
              - priority: 2
                lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.2, port_value: 82 } } } } ]
        """));
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(gap, "p.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("load_assignment.endpoints").hasMessageContaining("priority 1 has no locality");
  }

  /**
   * Through a running proxy: a cluster with upstream a at priority 0 and b at priority 1 sends everything to a until
   * outlier detection ejects it (one 5xx), then everything to b.
   */
  @Test
  void aProxyFailsOverToTheNextLevelWhenOutlierDetectionEjectsTheFirst() throws Exception {
    try (var a = new io.keelson.dataplane.testing.TestUpstream("a");
        var b = new io.keelson.dataplane.testing.TestUpstream("b")) {
      String yaml = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, cluster("""
                - lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ]
                - priority: 1
                  lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ]
              outlier_detection: { consecutive_5xx: 1, base_ejection_time: 30s, max_ejection_percent: 100 }
          """.formatted(a.port(), b.port())));
      try (ProxyHarness proxy = new ProxyHarness(yaml, io.keelson.dataplane.pipeline.PipelineMode.INLINE)) {
        for (int i = 0; i < 10; i++) {
          assertThat(proxy.get("/").headers().firstValue("x-upstream")).as("level 0 healthy").hasValue("a");
        }
        assertThat(proxy.get("/status/503").statusCode()).isEqualTo(503); // a's 5xx: ejected
        for (int i = 0; i < 10; i++) {
          assertThat(proxy.get("/").headers().firstValue("x-upstream")).as("level 0 ejected").hasValue("b");
        }
      }
    }
  }
}
