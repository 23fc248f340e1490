package io.keelson.dataplane.balance;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbOptions;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.SlowStartConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalityAndSlowStartTest {
  private static final long SECOND = 1_000_000_000L;

  private static EndpointConfig ep(int i, String locality, int localityWeight) {
    return new EndpointConfig("10.0.0." + i, 80, 1, locality, localityWeight);
  }

  @Test
  void localitiesShareTrafficByTheirWeightAndUnweightedOnesGetNone() {
    var eps = List.of(ep(1, "r/a/", 1), ep(2, "r/a/", 1), ep(3, "r/b/", 3), ep(4, "r/b/", 3), ep(5, "r/c/", 0));
    var lbOptions = new LbOptions(50, LbOptions.DEFAULT_MIN_RING, LbOptions.DEFAULT_MAX_RING, LbOptions.DEFAULT_MAGLEV_TABLE, true, null, LbOptions.OVERRIDE_HEALTHY);
    LoadBalancer lb = LoadBalancer.create(ClusterConfig.builder("c", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), eps).lb(lbOptions).build(),
        new SplittableRandom(1));
    int[] counts = new int[5];
    for (int i = 0; i < 4000; i++) {
      int chosen = lb.pick();
      lb.onRequestStart(chosen);
      assertThat(lb.activeRequests(chosen)).isPositive();
      lb.onRequestEnd(chosen);
      counts[chosen]++;
    }
    assertThat(counts).containsExactly(500, 500, 1500, 1500, 0);
  }

  @Test
  void aNewEndpointWarmsUpOverTheSlowStartWindow() {
    var eps = List.of(new EndpointConfig("10.0.0.1", 80, 1), new EndpointConfig("10.0.0.2", 80, 1));
    LoadBalancer rr = LoadBalancer.create(ClusterConfig.builder("c", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), eps).build(), new SplittableRandom(1));
    AtomicLong now = new AtomicLong(100 * SECOND);
    long[] added = {Long.MIN_VALUE, now.get()};
    var slow = new SlowStartBalancer(rr, added, new SlowStartConfig(Duration.ofSeconds(10), 1.0, 10), now::get, new SplittableRandom(2));
    assertThat(share(slow, 1)).as("at the start: min_weight_percent").isBetween(0.02, 0.12);
    now.addAndGet(5 * SECOND);
    assertThat(share(slow, 1)).as("half way, aggression 1: half weight").isBetween(0.25, 0.42);
    now.addAndGet(5 * SECOND);
    assertThat(share(slow, 1)).as("after the window: full weight").isEqualTo(0.5);
  }

  private static double share(LoadBalancer lb, int endpoint) {
    int hits = 0;
    for (int i = 0; i < 10_000; i++) {
      hits += lb.pick() == endpoint ? 1 : 0;
    }
    return hits / 10_000.0;
  }

  @Test
  void translatesLocalitiesAndSlowStartAndMarksOnlyEndpointsAddedLaterAsNew() throws Exception {
    String vhosts = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: svc }
      """;
    String cluster = """
          - name: svc
            connect_timeout: 1s
            type: STATIC
            lb_policy: ROUND_ROBIN
            common_lb_config: { locality_weighted_lb_config: {} }
            round_robin_lb_config:
              slow_start_config: { slow_start_window: 30s, aggression: { default_value: 2.0, runtime_key: k }, min_weight_percent: { value: 5 } }
            load_assignment:
              cluster_name: svc
              endpoints:
              - locality: { region: eu, zone: a }
                load_balancing_weight: 7
                lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1001 } } }
              - locality: { region: eu, zone: b }
                load_balancing_weight: 3
                lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1002 } } }
      """;
    ProxySnapshot first = BootstrapLoader.fromYaml(bootstrap(vhosts, cluster), "b.yaml");
    ClusterConfig svc = first.cluster("svc");
    assertThat(svc.endpoints()).containsExactly(
        new EndpointConfig("127.0.0.1", 1001, 1, "eu/a/", 7), new EndpointConfig("127.0.0.1", 1002, 1, "eu/b/", 3));
    assertThat(svc.lb().localityWeighted()).isTrue();
    assertThat(svc.lb().slowStart()).isEqualTo(new SlowStartConfig(Duration.ofSeconds(30), 2.0, 5));

    String line1002 = cluster.lines().filter(l -> l.contains("port_value: 1002")).findFirst().orElseThrow();
    ProxySnapshot second = BootstrapLoader.fromYaml(bootstrap(vhosts, cluster.replace(line1002,
        line1002 + "\n" + line1002.replace("1002", "1003"))), "b.yaml");
    StatsRegistry stats = new StatsRegistry();
    ServingSnapshot s1 = ServingSnapshot.compile(first, stats, null, null);
    ServingSnapshot s2 = ServingSnapshot.compile(second, stats, null, s1);
    assertThat(s1.cluster("svc").addedAt(0)).as("there from the start").isEqualTo(Long.MIN_VALUE);
    assertThat(s2.cluster("svc").addedAt(0)).isEqualTo(Long.MIN_VALUE);
    assertThat(s2.cluster("svc").addedAt(2)).as("added by the update").isNotEqualTo(Long.MIN_VALUE);
  }
}
