package io.keelson.dataplane.filter.rls;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.ratelimit through a real proxy started from an Envoy bootstrap, a real grpc-java rate limit
 * service ({@link RateLimitServer}, limit 2 per descriptor) and a real upstream, over HTTP/1.1 and HTTP/2, with the
 * policy stage inline and on the ring: descriptors are built as Envoy builds them and limited per value, routes
 * without rate limits make no call, the virtual host's rate limits apply where the route has none (or as
 * RateLimitPerRoute's vh_rate_limits says), a dead service
 * lets requests through (or answers 500 with failure_mode_deny).
 */
class RateLimitProxyTest {
  private static final String VHOSTS = """
      - name: main
        domains: ["*"]
        rate_limits:
        - actions: [ { generic_key: { descriptor_value: vh } } ]
        routes:
        - match: { prefix: "/free" }
          route:
            cluster: a
            rate_limits:
            - stage: 1
              actions: [ { generic_key: { descriptor_value: other-stage } } ]
        - match: { prefix: "/vh" }
          route: { cluster: a }
        - match: { prefix: "/include" }
          route:
            cluster: a
            rate_limits:
            - actions: [ { generic_key: { descriptor_value: own } } ]
          typed_per_filter_config:
            envoy.filters.http.ratelimit:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute
              vh_rate_limits: INCLUDE
        - match: { prefix: "/ignore" }
          route: { cluster: a }
          typed_per_filter_config:
            envoy.filters.http.ratelimit:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute
              vh_rate_limits: IGNORE
        - match: { prefix: "/" }
          route:
            cluster: a
            rate_limits:
            - actions:
              - destination_cluster: {}
              - request_headers: { header_name: x-user, descriptor_key: user }
            - actions:
              - request_headers: { header_name: x-plan, descriptor_key: plan, skip_if_absent: true }
              - header_value_match:
                  descriptor_value: get
                  headers: [ { name: ":method", string_match: { exact: GET } } ]
      """.indent(12);

  private static String filter(String extra) {
    return ("""
        - name: envoy.filters.http.ratelimit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
            domain: edge
            timeout: 5s
            enable_x_ratelimit_headers: DRAFT_VERSION_03
            rate_limit_service:
              transport_api_version: V3
              grpc_service: { envoy_grpc: { cluster_name: rls } }
        """ + extra.stripIndent().indent(4)).indent(10);
  }

  private static ProxyHarness proxy(TestUpstream a, int rlsPort, PipelineMode mode, String extra) throws Exception {
    return new ProxyHarness(yaml(a, rlsPort, extra), mode);
  }

  private static String yaml(TestUpstream a, int rlsPort, String extra) {
    return bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
        + cluster("rls", "ROUND_ROBIN", rlsPort) + "    http2_protocol_options: {}\n", filter(extra));
  }

  private static RateLimitDescriptor descriptor(String... kv) {
    RateLimitDescriptor.Builder d = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < kv.length; i += 2) {
      d.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(kv[i]).setValue(kv[i + 1]));
    }
    return d.build();
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void eachHeaderValueIsLimitedOnItsOwn(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(2);
        ProxyHarness proxy = proxy(a, rls.port(), mode, "")) {
      assertThat(proxy.get("/api", "x-user", "a").statusCode()).isEqualTo(200);
      HttpResponse<String> second = proxy.get("/api", "x-user", "a");
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(second.headers().firstValue("x-ratelimit-limit")).hasValue("2, 2;w=60, 2;w=60");
      assertThat(second.headers().firstValue("x-ratelimit-remaining")).hasValue("0");
      assertThat(second.headers().firstValue("x-ratelimit-reset")).hasValue("42");
      assertThat(second.headers().firstValue("x-rls-seen")).hasValue("yes");
      assertThat(a.lastHeaders).containsEntry("x-rls-checked", "true");

      HttpResponse<String> limited = proxy.get("/api", "x-user", "a");
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.headers().firstValue("x-envoy-ratelimited")).hasValue("true");
      assertThat(limited.headers().firstValue("x-rls-seen")).hasValue("yes");
      assertThat(limited.headers().firstValue("x-ratelimit-remaining")).hasValue("0");
      assertThat(a.requests.get()).isEqualTo(2);

      // POST: the header_value_match on GET fails, so only user b's descriptor is sent, and b is under its limit.
      HttpResponse<String> other = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/api"))
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString("x")).header("x-user", "b"));
      assertThat(other.statusCode()).isEqualTo(200);
      assertThat(a.requests.get()).isEqualTo(3);

      assertThat(rls.requests).hasSize(4);
      assertThat(rls.requests.get(0).getDomain()).isEqualTo("edge");
      assertThat(rls.requests.get(0).getDescriptorsList()).containsExactly(
          descriptor("destination_cluster", "a", "user", "a"), descriptor("header_match", "get"));
      assertThat(rls.requests.get(3).getDescriptorsList()).containsExactly(descriptor("destination_cluster", "a", "user", "b"));
      assertThat(proxy.stat("cluster.a.ratelimit.ok")).isEqualTo(3);
      assertThat(proxy.stat("cluster.a.ratelimit.over_limit")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void descriptorsFollowEnvoysRulesForAbsentHeadersStagesAndTheVirtualHost(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(100);
        ProxyHarness proxy = proxy(a, rls.port(), mode, "")) {
      // No x-user: the first limit has no descriptor; x-plan absent with skip_if_absent leaves only its entry out.
      assertThat(proxy.get("/api").statusCode()).isEqualTo(200);
      assertThat(proxy.get("/api", "x-plan", "gold").statusCode()).isEqualTo(200);
      assertThat(rls.requests).hasSize(2);
      assertThat(rls.requests.get(0).getDescriptorsList()).containsExactly(descriptor("header_match", "get"));
      assertThat(rls.requests.get(1).getDescriptorsList()).containsExactly(descriptor("plan", "gold", "header_match", "get"));
      // A route with rate limits of another stage only: no descriptor, no call (and not the virtual host's either).
      assertThat(proxy.get("/free", "x-user", "a").statusCode()).isEqualTo(200);
      assertThat(rls.requests).hasSize(2);
      // A route without rate_limits takes the virtual host's.
      assertThat(proxy.get("/vh").statusCode()).isEqualTo(200);
      assertThat(rls.requests).hasSize(3);
      assertThat(rls.requests.get(2).getDescriptorsList()).containsExactly(descriptor("generic_key", "vh"));
      // RateLimitPerRoute.vh_rate_limits: INCLUDE adds the virtual host's after the route's; IGNORE drops them.
      assertThat(proxy.get("/include").statusCode()).isEqualTo(200);
      assertThat(rls.requests).hasSize(4);
      assertThat(rls.requests.get(3).getDescriptorsList())
          .containsExactly(descriptor("generic_key", "own"), descriptor("generic_key", "vh"));
      assertThat(proxy.get("/ignore").statusCode()).isEqualTo(200);
      assertThat(rls.requests).hasSize(4);
      assertThat(a.requests.get()).isEqualTo(6);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http2StreamsAreLimitedToo(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(1);
        ProxyHarness proxy = proxy(a, rls.port(), mode, ""); H2Client client = new H2Client(proxy.port())) {
      int[] statuses = new int[3];
      for (int i = 0; i < 3; i++) {
        // POST: the GET header_value_match (shared by every user) is not in play, only the user's descriptor.
        DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/h2");
        get.headers().set("x-user", i < 2 ? "a" : "b");
        FullHttpResponse r = client.send(get).get(10, TimeUnit.SECONDS);
        statuses[i] = r.status().code();
        if (i == 0) { // OK: the service's response header and x-ratelimit-* on the HTTP/2 response, its request header upstream
          assertThat(r.headers().get("x-rls-seen")).isEqualTo("yes");
          assertThat(r.headers().get("x-ratelimit-remaining")).isEqualTo("0");
          assertThat(a.lastHeaders).containsEntry("x-rls-checked", "true");
        }
        if (i == 1) {
          assertThat(r.headers().get("x-envoy-ratelimited")).isEqualTo("true");
        }
        r.release();
      }
      assertThat(statuses).containsExactly(200, 429, 200);
      assertThat(a.requests.get()).isEqualTo(2);
      assertThat(rls.requests).hasSize(3);
      assertThat(rls.requests.get(2).getDescriptorsList()).containsExactly(descriptor("destination_cluster", "a", "user", "b"));
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deadServiceLetsRequestsThrough(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode, "")) {
      assertThat(proxy.get("/api", "x-user", "a").statusCode()).isEqualTo(200);
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(proxy.stat("cluster.a.ratelimit.error")).isEqualTo(1);
      assertThat(proxy.stat("cluster.a.ratelimit.failure_mode_allowed")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deadServiceWithFailureModeDenyAnswers500(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode, "failure_mode_deny: true\n")) {
      HttpResponse<String> r = proxy.get("/api", "x-user", "a");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.headers().firstValue("x-envoy-ratelimited")).isEmpty();
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("cluster.a.ratelimit.error")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void configuredStatusAndNoEnvoyHeaderOnALimitedRequest(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(0);
        ProxyHarness proxy = proxy(a, rls.port(), mode,
            "rate_limited_status: { code: ServiceUnavailable }\ndisable_x_envoy_ratelimited_header: true\n")) {
      HttpResponse<String> r = proxy.get("/api", "x-user", "a");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("x-envoy-ratelimited")).isEmpty();
      assertThat(r.headers().firstValue("x-ratelimit-limit")).hasValue("0, 0;w=60, 0;w=60");
      assertThat(a.requests.get()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aSlowServiceTimesOutAfterEnvoysDefault20msAndTheRequestGoesOn(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(0);
        ProxyHarness proxy = new ProxyHarness(yaml(a, rls.port(), "").replaceAll("(?m)^ *timeout: 5s\n", ""), mode)) {
      rls.delayMillis = 3000;
      long start = System.nanoTime();
      HttpResponse<String> r = proxy.get("/api", "x-user", "a");
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertThat(r.statusCode()).isEqualTo(200); // limit 0 would have refused it, had the answer come in time
      assertThat(tookMs).isLessThan(2500); // the call may time out before it even reaches the service
      assertThat(proxy.stat("cluster.a.ratelimit.error")).isEqualTo(1);
      assertThat(proxy.stat("cluster.a.ratelimit.failure_mode_allowed")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void requestTypeFollowsTheConnectionManagersInternalDecision(PipelineMode mode) throws Exception {
    String internalLoopback = "use_remote_address: true";
    String loopbackInternal = "internal_address_config: { cidr_ranges: [{ address_prefix: 127.0.0.0, prefix_len: 8 }] }";
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(100)) {
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.withHcm(yaml(a, rls.port(), "request_type: external\n"),
          internalLoopback, loopbackInternal), mode)) {
        assertThat(proxy.get("/api", "x-user", "a").statusCode()).isEqualTo(200);
        assertThat(rls.requests).isEmpty(); // the loopback client is internal: not limited
      }
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.withHcm(yaml(a, rls.port(), "request_type: internal\n"),
          internalLoopback, loopbackInternal), mode)) {
        assertThat(proxy.get("/api", "x-user", "a").statusCode()).isEqualTo(200);
        assertThat(rls.requests).hasSize(1);
      }
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.withHcm(yaml(a, rls.port(), "request_type: internal\n"),
          internalLoopback), mode)) {
        // Not internal (no internal_address_config): a client's own x-envoy-internal is removed, not believed.
        assertThat(proxy.get("/api", "x-user", "a", "x-envoy-internal", "true").statusCode()).isEqualTo(200);
        assertThat(rls.requests).hasSize(1);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void clientLeavingCancelsItsCallAndFreesTheServicesSlot(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(100)) {
      // max_requests: 1 on the rls cluster: a call left outstanding by a departed client would hold the only slot,
      // and the next calls would overflow (an error: through, counted as error).
      String yaml = yaml(a, rls.port(), "").replace("timeout: 5s", "timeout: 30s")
          .replace("    http2_protocol_options: {}\n", "    http2_protocol_options: {}\n"
              + "    circuit_breakers: { thresholds: [ { max_requests: 1 } ] }\n");
      try (ProxyHarness proxy = new ProxyHarness(yaml, mode)) {
        rls.delayMillis = 8_000;
        try (java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
          client.getOutputStream().write("GET /api HTTP/1.1\r\nHost: x\r\nx-user: gone\r\n\r\n"
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          org.awaitility.Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> rls.requests.size() == 1);
        } // the client leaves while its call is outstanding
        rls.delayMillis = 0;
        org.awaitility.Awaitility.await().atMost(5, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
            .untilAsserted(() -> {
              assertThat(proxy.get("/api", "x-user", "b").statusCode()).isEqualTo(200);
              assertThat(proxy.stat("cluster.a.ratelimit.ok")).isPositive();
            });
        assertThat(a.requests.get()).isPositive();
        assertThat(a.lastHeaders).containsEntry("x-user", "b");
      }
    }
  }
}
