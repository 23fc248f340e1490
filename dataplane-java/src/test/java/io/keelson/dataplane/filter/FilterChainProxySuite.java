package io.keelson.dataplane.filter;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The HTTP filter chain (policy stage) over real sockets: fault injection and local rate limiting,
 * listener-wide and per route. Run once per pipeline wiring by its subclasses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class FilterChainProxySuite {
  public static final String FILTERS = """
                - name: envoy.filters.http.fault
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                    abort: { header_abort: {}, percentage: { numerator: 100 } }
                    delay: { header_delay: {}, percentage: { numerator: 100 } }
                - name: envoy.filters.http.local_ratelimit
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                    stat_prefix: listener_rl
                    token_bucket: { max_tokens: 1000, fill_interval: 1s }
                - name: envoy.filters.http.lua_that_keelson_lacks
                  is_optional: true
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
      """;
  public static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/limited" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.local_ratelimit:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                          stat_prefix: route_rl
                          token_bucket: { max_tokens: 3, tokens_per_fill: 1, fill_interval: 3600s }
                          filter_enabled: { default_value: { numerator: 100 } }
                          filter_enforced: { default_value: { numerator: 100 } }
                          enable_x_ratelimit_headers: DRAFT_VERSION_03
                          response_headers_to_add:
                          - header: { key: x-limited-by, value: keelson }
                    - match: { prefix: "/abort" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.fault:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                          abort: { http_status: 503, percentage: { numerator: 100 } }
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  TestUpstream a;
  ProxyHarness proxy;

  abstract PipelineMode mode();

  @BeforeAll
  void start() throws Exception {
    a = new TestUpstream("a");
    proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()), FILTERS), mode());
  }

  @AfterAll
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    a.close();
  }

  @Test
  void headerControlledAbortRepliesLocallyWithoutReachingTheUpstream() throws Exception {
    int before = a.requests.get();
    HttpResponse<String> r = proxy.get("/x", "x-envoy-fault-abort-request", "418");
    assertThat(r.statusCode()).isEqualTo(418);
    assertThat(r.body()).isEqualTo("fault filter abort");
    assertThat(a.requests.get()).isEqualTo(before);
    assertThat(proxy.admin("/stats")).contains("http.ingress_http.fault.aborts_injected: ");
  }

  @Test
  void headerControlledDelayHoldsTheRequestThenForwardsIt() throws Exception {
    long start = System.nanoTime();
    HttpResponse<String> r = proxy.get("/x", "x-envoy-fault-delay-request", "300");
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(tookMs).isGreaterThanOrEqualTo(300);
    assertThat(proxy.get("/x").statusCode()).isEqualTo(200);
  }

  @Test
  void aPerRouteFaultOverrideAbortsOnlyItsRoute() throws Exception {
    assertThat(proxy.get("/abort").statusCode()).isEqualTo(503);
    assertThat(proxy.get("/abort").body()).isEqualTo("fault filter abort");
    assertThat(proxy.get("/other").statusCode()).isEqualTo(200);
  }

  @Test
  void aPerRouteTokenBucketLetsExactlyItsTokensThroughAcrossConnections() throws Exception {
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> ok = proxy.get("/limited/" + i);
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.headers().firstValue("x-ratelimit-limit")).hasValue("3");
      assertThat(ok.headers().firstValue("x-ratelimit-remaining")).hasValue(Integer.toString(2 - i));
    }
    try (RawHttp raw = new RawHttp(proxy.port())) {
      RawHttp.Response limited = raw.send("GET /limited/x HTTP/1.1\r\nHost: h\r\n\r\n").read();
      assertThat(limited.status()).isEqualTo(429);
      assertThat(limited.header("x-envoy-ratelimited")).isEqualTo("true");
      assertThat(limited.header("x-limited-by")).isEqualTo("keelson");
      assertThat(limited.body()).isEqualTo("local_rate_limited");
      // The connection stays usable, and the listener-wide bucket (disabled by default) does not limit other routes.
      RawHttp.Response other = raw.send("GET /other HTTP/1.1\r\nHost: h\r\n\r\n").read();
      assertThat(other.status()).isEqualTo(200);
    }
    assertThat(proxy.admin("/stats"))
        .contains("route_rl.http_local_rate_limit.ok: 3")
        .contains("route_rl.http_local_rate_limit.rate_limited: 1");
    // The local reply carries Envoy's response flag into Istio's metrics.
    assertThat(proxy.admin("/stats/prometheus")).containsPattern("istio_requests_total\\{[^}]*response_code=\"429\"[^}]*response_flags=\"RL\"");
  }

  @Test
  void aDelayedAbortOnAKeptAliveConnectionLeavesItUsable() throws Exception {
    try (RawHttp raw = new RawHttp(proxy.port())) {
      RawHttp.Response aborted = raw.send("GET /x HTTP/1.1\r\nHost: h\r\nx-envoy-fault-delay-request: 100\r\n"
          + "x-envoy-fault-abort-request: 500\r\n\r\n").read();
      assertThat(aborted.status()).isEqualTo(500);
      RawHttp.Response next = raw.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read();
      assertThat(next.status()).isEqualTo(200);
    }
  }
}
