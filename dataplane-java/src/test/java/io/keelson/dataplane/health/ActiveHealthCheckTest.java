package io.keelson.dataplane.health;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Active health checks against real upstreams: endpoints leave and come back, seen by balancing and /clusters. */
class ActiveHealthCheckTest {
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: svc }
      """;
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final SwitchableUpstream a = new SwitchableUpstream("a");
  private final SwitchableUpstream b = new SwitchableUpstream("b");
  private final SwitchableUpstream c = new SwitchableUpstream("c");
  private ProxyHarness proxy;
  private Server grpc;

  ActiveHealthCheckTest() throws Exception {}

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (grpc != null) {
      grpc.shutdownNow();
    }
    a.close();
    b.close();
    c.close();
  }

  private static String cluster(String healthCheck, int... ports) {
    return cluster("no_traffic_interval: 0.1s", healthCheck, ports);
  }

  private static String cluster(String intervals, String healthCheck, int... ports) {
    StringBuilder s = new StringBuilder("""
          - name: svc
            connect_timeout: 1s
            type: STATIC
            lb_policy: ROUND_ROBIN
            health_checks:
            - timeout: 2s
              interval: 0.1s
              interval_jitter: 0.02s
              unhealthy_threshold: 2
              healthy_threshold: 2
        """);
    s.append("      ").append(intervals).append('\n');
    s.append("      ").append(healthCheck).append('\n');
    s.append("""
            load_assignment:
              cluster_name: svc
              endpoints:
              - lb_endpoints:
        """);
    for (int p : ports) {
      s.append("        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ").append(p).append(" } } }\n");
    }
    return s.toString();
  }

  private String flags(int port) throws Exception {
    for (String line : proxy.admin("/clusters").split("\n")) {
      if (line.startsWith("svc::127.0.0.1:" + port + "::health_flags::")) {
        return line.substring(line.lastIndexOf("::") + 2);
      }
    }
    throw new AssertionError("no health_flags line for port " + port);
  }

  private Set<String> answeringUpstreams(int requests) throws Exception {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < requests; i++) {
      var r = proxy.get("/work");
      assertThat(r.statusCode()).isEqualTo(200);
      seen.add(r.body());
    }
    return seen;
  }

  @Test
  void anHttpCheckAnswering503RemovesTheEndpointAndA200RestoresIt() throws Exception {
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("http_health_check: { path: /healthz }", a.port, b.port, c.port)),
        PipelineMode.INLINE);
    await().atMost(WAIT).until(() -> answeringUpstreams(6).size() == 3);
    a.healthStatus = 503;
    await().atMost(WAIT).until(() -> flags(a.port).equals("/failed_active_hc"));
    assertThat(flags(b.port)).isEqualTo("healthy");
    assertThat(answeringUpstreams(30)).containsExactlyInAnyOrder("b", "c");
    a.healthStatus = 200;
    await().atMost(WAIT).until(() -> flags(a.port).equals("healthy"));
    await().atMost(WAIT).until(() -> answeringUpstreams(6).contains("a"));
    assertThat(proxy.admin("/stats")).contains("cluster.svc.health_check.failure: ");
  }

  @Test
  void aKilledUpstreamIsRemovedAfterUnhealthyThresholdAndRestoredAfterHealthyThreshold() throws Exception {
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("tcp_health_check: {}", a.port, b.port, c.port)), PipelineMode.DISRUPTOR);
    c.kill();
    await().atMost(WAIT).until(() -> flags(c.port).equals("/failed_active_hc"));
    assertThat(answeringUpstreams(30)).as("no request goes to the killed endpoint").containsExactlyInAnyOrder("a", "b");
    c.restart();
    await().atMost(WAIT).until(() -> flags(c.port).equals("healthy"));
    await().atMost(WAIT).until(() -> answeringUpstreams(6).contains("c"));
  }

  @Test
  void belowThePanicThresholdTrafficGoesToEveryEndpoint() throws Exception {
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("http_health_check: { path: /healthz }", a.port, b.port, c.port)),
        PipelineMode.INLINE);
    a.healthStatus = 500;
    b.healthStatus = 500;
    await().atMost(WAIT).until(() -> flags(a.port).equals("/failed_active_hc") && flags(b.port).equals("/failed_active_hc"));
    // One healthy of three is under Envoy's default 50%: health is ignored.
    assertThat(answeringUpstreams(30)).containsExactlyInAnyOrder("a", "b", "c");
  }

  @Test
  void aGrpcHealthServerDecidesThroughTheGrpcHealthCheckingProtocol() throws Exception {
    HealthStatusManager health = new HealthStatusManager();
    grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(health.getHealthService()).build().start();
    int port = grpc.getPort();
    health.setStatus("svc.v1", ServingStatus.SERVING);
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("grpc_health_check: { service_name: svc.v1 }", port, a.port)),
        PipelineMode.INLINE);
    await().atMost(WAIT).until(() -> proxy.admin("/stats").matches("(?s).*cluster\\.svc\\.health_check\\.success: [1-9].*"));
    assertThat(flags(port)).isEqualTo("healthy");
    health.setStatus("svc.v1", ServingStatus.NOT_SERVING);
    await().atMost(WAIT).until(() -> flags(port).equals("/failed_active_hc"));
    health.setStatus("svc.v1", ServingStatus.SERVING);
    await().atMost(WAIT).until(() -> flags(port).equals("healthy"));
  }

  @Test
  void anEndpointFailingItsCheckAtStartupNeverGetsTraffic() throws Exception {
    a.healthStatus = 503;
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("http_health_check: { path: /healthz }", a.port, b.port, c.port)),
        PipelineMode.INLINE);
    // Envoy waits for the initial checks before using a cluster: the very first requests avoid a.
    assertThat(answeringUpstreams(30)).containsExactlyInAnyOrder("b", "c");
    assertThat(a.workRequests.get()).isZero();
    assertThat(flags(a.port)).isEqualTo("/failed_active_hc");
  }

  @Test
  void aNewEndpointIsNotUsedUntilItPassesItsFirstCheck() throws Exception {
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("http_health_check: { path: /healthz }", a.port, b.port)),
        PipelineMode.DISRUPTOR);
    assertThat(answeringUpstreams(10)).containsExactlyInAnyOrder("a", "b");
    c.healthStatus = 503;
    proxy.server.install(io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        bootstrap(VHOSTS, cluster("http_health_check: { path: /healthz }", a.port, b.port, c.port)), "test.yaml"));
    // Right after the update and for as long as its checks fail, c gets nothing.
    for (int round = 0; round < 5; round++) {
      assertThat(answeringUpstreams(20)).containsExactlyInAnyOrder("a", "b");
      Thread.sleep(100); // let checks run between rounds: still failing
    }
    assertThat(c.workRequests.get()).as("the new endpoint never received traffic").isZero();
    assertThat(flags(c.port)).isEqualTo("/failed_active_hc");
    c.healthStatus = 200;
    await().atMost(WAIT).until(() -> answeringUpstreams(6).contains("c"));
  }

  @Test
  void aNewEndpointPassingItsFirstCheckIsUsedAtOnce() throws Exception {
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("no_traffic_interval: 30s", "http_health_check: { path: /healthz }", a.port, b.port)),
        PipelineMode.INLINE);
    proxy.server.install(io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        bootstrap(VHOSTS, cluster("no_traffic_interval: 30s", "http_health_check: { path: /healthz }", a.port, b.port, c.port)), "test.yaml"));
    // No traffic yet, so checks come every 30 s: only the first check (one success, not healthy_threshold) can have cleared c.
    await().atMost(WAIT).until(() -> flags(c.port).equals("healthy"));
    await().atMost(WAIT).until(() -> answeringUpstreams(6).contains("c"));
  }

  @Test
  void aClusterWithoutTrafficIsCheckedAtNoTrafficIntervalThenAtInterval() throws Exception {
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("no_traffic_interval: 1s", "tcp_health_check: {}", a.port, b.port)),
        PipelineMode.INLINE);
    Thread.sleep(2500);
    long idle = attempts();
    assertThat(idle).as("2 endpoints, checked at once then every 1 s for 2.5 s").isBetween(2L, 8L);
    assertThat(answeringUpstreams(2)).isNotEmpty();
    // After the next no-traffic check, every 0.1 s.
    await().atMost(WAIT).until(() -> attempts() > idle + 30);
  }

  private long attempts() throws Exception {
    for (String line : proxy.admin("/stats").split("\n")) {
      if (line.startsWith("cluster.svc.health_check.attempt: ")) {
        return Long.parseLong(line.substring(line.indexOf(": ") + 2).trim());
      }
    }
    return -1;
  }

  @Test
  void envoysIntervalsAreReadWithTheirDefaults() throws Exception {
    var set = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(bootstrap(VHOSTS, cluster(
        String.join("\n      ", "no_traffic_interval: 5s", "no_traffic_healthy_interval: 7s", "unhealthy_interval: 2s",
            "unhealthy_edge_interval: 0.5s", "healthy_edge_interval: 0.3s"),
        "tcp_health_check: {}", a.port)), "test.yaml").clusters().get("svc").healthCheck().intervals();
    assertThat(set).isEqualTo(new io.keelson.dataplane.config.HealthCheckConfig.Intervals(Duration.ofSeconds(5),
        Duration.ofSeconds(7), Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ofMillis(300)));
    var defaults = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(bootstrap(VHOSTS, cluster(
        "unhealthy_interval: 2s", "tcp_health_check: {}", a.port)), "test.yaml").clusters().get("svc").healthCheck().intervals();
    assertThat(defaults).as("no traffic: 60 s; edges follow their intervals")
        .isEqualTo(new io.keelson.dataplane.config.HealthCheckConfig.Intervals(Duration.ofSeconds(60), Duration.ofSeconds(60),
            Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofMillis(100)));
  }
}
