package io.keelson.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/** Route lookup and endpoint picks run per request, so they must not allocate in steady state. */
class AllocationFreeLookupTest {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /**
   * Bytes allocated by this thread over 20,000 calls, after 20,000 calls of warm-up. One allocation
   * per call would be at least 16 bytes a call (320,000 in all); the bound of one byte per call
   * leaves room for one-off allocations by the JIT or class loading, not for per-call ones.
   */
  private static final long BOUND = 20_000;

  private static long allocatedBy(IntSupplier work) {
    int sink = 0;
    for (int i = 0; i < 20_000; i++) {
      sink += work.getAsInt();
    }
    long before = THREADS.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 20_000; i++) {
      sink += work.getAsInt();
    }
    long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
    assertThat(sink).isNotEqualTo(Integer.MIN_VALUE);
    return allocated;
  }

  @Test
  void routeLookupDoesNotAllocate() throws Exception {
    RouteConfig rc = BootstrapLoader.fromYaml("""
        static_resources:
          listeners:
          - name: l
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: s
                  route_config:
                    virtual_hosts:
                    - name: other
                      domains: ["other.example.com", "*.other.net", "other.*"]
                      routes: [{ match: { prefix: / }, route: { cluster: c } }]
                    - name: api
                      domains: ["api.example.com"]
                      routes:
                      - match: { path: /health }
                        route: { cluster: c }
                      - match: { prefix: /static/ }
                        route: { cluster: c }
                      - match: { safe_regex: { regex: "/users/[0-9]+/orders" } }
                        route: { cluster: c }
                      - match:
                          prefix: /items
                          headers:
                          - { name: x-version, string_match: { prefix: v2 } }
                          - { name: ":method", string_match: { exact: GET } }
                          - { name: x-absent, present_match: true, invert_match: true }
                          query_parameters:
                          - { name: color, string_match: { exact: red } }
                        route: { cluster: c }
          clusters:
          - name: c
        """, "alloc.yaml").listeners().getFirst().http().routeConfig();
    RouteTable table = RouteTable.compile(rc);
    TestRequest regex = TestRequest.request("GET", "/users/42/orders", "API.example.com:443");
    TestRequest headers = TestRequest.request("GET", "/items/7?size=m&color=red", "api.example.com")
        .header("x-version", "v2.1");
    TestRequest exact = TestRequest.request("GET", "/health", "api.example.com");
    TestRequest prefix = TestRequest.request("GET", "/static/app.js", "api.example.com");
    assertThat(table.route(prefix)).isNotNull();
    assertThat(table.route(exact)).isNotNull();
    assertThat(table.route(regex)).isNotNull();
    assertThat(table.route(headers)).isNotNull();
    long bytes = allocatedBy(() -> {
      RouteEntry a = table.route(regex);
      RouteEntry b = table.route(headers);
      return System.identityHashCode(a) ^ System.identityHashCode(b)
          ^ System.identityHashCode(table.virtualHost("x.other.net:8080"))
          ^ System.identityHashCode(table.route(exact))
          ^ System.identityHashCode(table.route(prefix));
    });
    assertThat(bytes).as("bytes allocated by 20,000 lookups").isLessThan(BOUND);
  }

  @Test
  void picksDoNotAllocate() {
    for (LbPolicy policy : List.of(LbPolicy.ROUND_ROBIN, LbPolicy.LEAST_REQUEST, LbPolicy.RANDOM)) {
      for (int[] weights : new int[][] {{1, 1, 1}, {1, 2, 3}}) {
        List<EndpointConfig> endpoints = List.of(
            new EndpointConfig("a", 1, weights[0]), new EndpointConfig("b", 1, weights[1]), new EndpointConfig("c", 1, weights[2]));
        LoadBalancer lb = LoadBalancer.create(
            ClusterConfig.builder("c", policy, Duration.ofSeconds(1), endpoints).build(), new SplittableRandom(1));
        long bytes = allocatedBy(() -> {
          int i = lb.pick();
          lb.onRequestStart(i);
          lb.onRequestEnd(i);
          return i;
        });
        assertThat(bytes).as("bytes allocated by 20,000 %s picks over weights %s", policy, List.of(weights[0], weights[1], weights[2]))
            .isLessThan(BOUND);
      }
    }
  }
}
