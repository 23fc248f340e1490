package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The router's {@code suppress_envoy_headers}, as in Envoy: the router adds no {@code x-envoy-*} header of its own
 * ({@code x-envoy-overloaded} on its circuit-breaker 503s, and the two timing headers), on HTTP/1.1 and HTTP/2
 * downstreams. {@code x-envoy-attempt-count} is an opt-in of the virtual host (include_request_attempt_count,
 * include_attempt_count_in_response) that Envoy's router adds whatever suppress_envoy_headers says, and so does Keelson.
 * Unless suppressed, the router also adds x-envoy-upstream-service-time to forwarded responses and
 * x-envoy-expected-rq-timeout-ms to upstream requests.
 */
class SuppressEnvoyHeadersTest {

  /** The bootstrap with the router's typed_config given {@code suppress_envoy_headers: suppress}. */
  private static String withRouter(String yaml, boolean suppress) {
    String router = "\"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n";
    int at = yaml.indexOf(router);
    if (at < 0) {
      throw new IllegalStateException("bootstrap layout changed");
    }
    String indent = " ".repeat(at - yaml.lastIndexOf('\n', at) - 1);
    return yaml.replace(router, router + indent + "suppress_envoy_headers: " + suppress + "\n");
  }

  /** A route retrying 5xx once, answering with the attempt count, to cluster c. */
  private static String retryingRoutes() {
    return routes("""
        retry_policy:
          retry_on: 5xx
          num_retries: 1
          retry_back_off: { base_interval: 0.005s }
        """).replace("domains: [\"*\"]\n", "domains: [\"*\"]\n"
        + "              include_request_attempt_count: true\n"
        + "              include_attempt_count_in_response: true\n");
  }

  @Test
  void theFlagIsReadFromTheRouterAndIsOffByDefault() throws Exception {
    String yaml = bootstrap(routes(""), cluster("", 9999));
    assertThat(BootstrapLoader.fromYaml(yaml, "t.yaml").listeners().getFirst().http().suppressEnvoyHeaders()).isFalse();
    var on = BootstrapLoader.fromYaml(withRouter(yaml, true), "t.yaml");
    assertThat(on.listeners().getFirst().http().suppressEnvoyHeaders()).isTrue();
    assertThat(on.warnings()).noneMatch(w -> w.contains("suppress_envoy_headers"));
    assertThat(BootstrapLoader.fromYaml(withRouter(yaml, false), "t.yaml").listeners().getFirst().http()
        .suppressEnvoyHeaders()).isFalse();
  }

  @ParameterizedTest(name = "suppress_envoy_headers={0}, h2={1}")
  @CsvSource({"false,false", "true,false", "false,true", "true,true"})
  void anOverloadedRequestsReplyHasXEnvoyOverloadedUnlessSuppressed(boolean suppress, boolean h2) throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      // max_requests 0: every request overflows at once (503 UO), deterministically.
      String clusters = cluster("""
              circuit_breakers:
                thresholds:
                - max_requests: 0
          """, up.port());
      try (ProxyHarness proxy = new ProxyHarness(withRouter(bootstrap(retryingRoutes(), clusters), suppress),
          PipelineMode.INLINE)) {
        Reply r = get(proxy, h2, "/overloaded");
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.body()).contains("overflow");
        assertThat(up.requests.get()).isZero();
        if (suppress) {
          assertThat(r.envoyHeaders()).doesNotContainKey("x-envoy-overloaded");
        } else {
          assertThat(r.envoyHeaders()).containsEntry("x-envoy-overloaded", "true");
        }
      }
    }
  }

  @ParameterizedTest(name = "suppress_envoy_headers={0}, h2={1}")
  @CsvSource({"false,false", "true,false", "false,true", "true,true"})
  void aRetriedRequestsResponseCarriesOnlyTheOptedInAttemptCount(boolean suppress, boolean h2) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(withRouter(bootstrap(retryingRoutes(), cluster("", up.port())), suppress),
            PipelineMode.INLINE)) {
      Reply r = get(proxy, h2, "/status/503");
      assertThat(r.status()).isEqualTo(503);
      assertThat(up.requests.get()).as("retried once").isEqualTo(2);
      if (suppress) {
        // The only x-envoy-* header is the virtual host's opt-in (Envoy adds it whatever suppress_envoy_headers says).
        assertThat(r.envoyHeaders()).isEqualTo(Map.of("x-envoy-attempt-count", "2"));
        assertThat(up.lastHeaders).doesNotContainKey("x-envoy-expected-rq-timeout-ms");
      } else {
        assertThat(r.envoyHeaders()).containsOnlyKeys("x-envoy-attempt-count", "x-envoy-upstream-service-time")
            .containsEntry("x-envoy-attempt-count", "2");
        // The retry carries what is left of the 10 s route timeout.
        assertThat(Long.parseLong(up.lastHeaders.get("x-envoy-expected-rq-timeout-ms"))).isBetween(5_000L, 10_000L);
      }
    }
  }

  /**
   * Envoy's timing headers: x-envoy-upstream-service-time on the response (ms from the whole request to the
   * upstream's response head; the upstream waits 200 ms) and x-envoy-expected-rq-timeout-ms on the upstream request
   * (the route timeout, 10 s), neither with suppress_envoy_headers.
   */
  @ParameterizedTest(name = "suppress_envoy_headers={0}, h2={1}")
  @CsvSource({"false,false", "true,false", "false,true", "true,true"})
  void theUpstreamServiceTimeAndTheExpectedTimeoutUnlessSuppressed(boolean suppress, boolean h2) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(withRouter(bootstrap(routes(""), cluster("", up.port())), suppress),
            PipelineMode.INLINE)) {
      Reply r = get(proxy, h2, "/delay/200");
      assertThat(r.status()).isEqualTo(200);
      if (suppress) {
        assertThat(r.envoyHeaders()).isEmpty();
        assertThat(up.lastHeaders).doesNotContainKey("x-envoy-expected-rq-timeout-ms");
      } else {
        assertThat(r.envoyHeaders()).containsOnlyKeys("x-envoy-upstream-service-time");
        assertThat(Long.parseLong(r.envoyHeaders().get("x-envoy-upstream-service-time"))).isBetween(200L, 5_000L);
        assertThat(up.lastHeaders).containsEntry("x-envoy-expected-rq-timeout-ms", "10000");
      }
    }
  }

  /** A per-try timeout below the route timeout is what the upstream is told; one not below it is ignored (Envoy). */
  @ParameterizedTest(name = "h2={0}")
  @CsvSource({"false", "true"})
  void theExpectedTimeoutIsThePerTryTimeoutWhenItIsShorter(boolean h2) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(routes("""
            retry_policy:
              retry_on: 5xx
              per_try_timeout: 2.5s
            """), cluster("", up.port())), PipelineMode.INLINE)) {
      assertThat(get(proxy, h2, "/ok").status()).isEqualTo(200);
      assertThat(up.lastHeaders).containsEntry("x-envoy-expected-rq-timeout-ms", "2500");
    }
  }

  @Test
  void theExpectedTimeoutFollowsEnvoysRule() {
    assertThat(RouterTimingHeaders.expectedTimeoutMs(10_000, 0, 0)).isEqualTo(10_000);
    assertThat(RouterTimingHeaders.expectedTimeoutMs(10_000, 2_000, 0)).isEqualTo(2_000);
    assertThat(RouterTimingHeaders.expectedTimeoutMs(10_000, 10_000, 0)).as("per-try not below: ignored").isEqualTo(10_000);
    assertThat(RouterTimingHeaders.expectedTimeoutMs(10_000, 0, 9_000)).as("a retry: what is left").isEqualTo(1_000);
    assertThat(RouterTimingHeaders.expectedTimeoutMs(10_000, 2_000, 9_000)).isEqualTo(1_000);
    assertThat(RouterTimingHeaders.expectedTimeoutMs(10_000, 2_000, 12_000)).as("none left: 1, not 0").isEqualTo(1);
    assertThat(RouterTimingHeaders.expectedTimeoutMs(0, 0, 0)).as("no timeout: no header").isZero();
    assertThat(RouterTimingHeaders.expectedTimeoutMs(0, 3_000, 5_000)).as("infinite route: the per-try").isEqualTo(3_000);
  }

  private record Reply(int status, String body, Map<String, String> envoyHeaders) {}

  private static Reply get(ProxyHarness proxy, boolean h2, String path) throws Exception {
    Map<String, String> envoy = new TreeMap<>();
    if (!h2) {
      HttpResponse<String> r = proxy.get(path);
      r.headers().map().forEach((k, v) -> {
        if (k.toLowerCase(java.util.Locale.ROOT).startsWith("x-envoy-")) {
          envoy.put(k.toLowerCase(java.util.Locale.ROOT), String.join(",", v));
        }
      });
      return new Reply(r.statusCode(), r.body(), envoy);
    }
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path))
          .get(10, TimeUnit.SECONDS);
      try {
        r.headers().forEach(e -> {
          if (e.getKey().toLowerCase(java.util.Locale.ROOT).startsWith("x-envoy-")) {
            envoy.merge(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue(), (a, b) -> a + "," + b);
          }
        });
        return new Reply(r.status().code(), r.content().toString(java.nio.charset.StandardCharsets.UTF_8), envoy);
      } finally {
        r.release();
      }
    }
  }
}
