package io.keelson.dataplane.filter.extauthz;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The HTTP filters after envoy.filters.http.ext_authz run after its check, on the request with the headers the check
 * set, as Envoy stops the chain at ext_authz until the answer: an RBAC filter after it sees the check's {@code x-role},
 * and a denied check takes no local rate limit token; over HTTP/1.1 and HTTP/2. A real proxy (policy stage inline and
 * on the ring), a real
 * grpc-java authorization server ({@link GrpcAuthzServer}) and a real upstream.
 */
class ExtAuthzFilterOrderTest {
  private static final String VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: a }
      """.indent(12);
  private static final String EXT_AUTHZ = GrpcAuthzServer.FILTER;
  private static final String ADMINS_ONLY = """
      - name: envoy.filters.http.rbac
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
          rules:
            action: ALLOW
            policies:
              admins:
                permissions: [ { any: true } ]
                principals: [ { header: { name: x-role, string_match: { exact: admin } } } ]
      """.indent(10);
  private static final String ONE_TOKEN = """
      - name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          stat_prefix: after_authz
          token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: 3600s }
          filter_enabled: { default_value: { numerator: 100 } }
          filter_enforced: { default_value: { numerator: 100 } }
      """.indent(10);

  private static ProxyHarness proxy(TestUpstream a, int authzPort, PipelineMode mode, String filters) throws Exception {
    return new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
        + cluster("authz", "ROUND_ROBIN", authzPort) + "    http2_protocol_options: {}\n", filters), mode);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void anRbacFilterAfterExtAuthzSeesTheHeadersTheCheckSet(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, EXT_AUTHZ + ADMINS_ONLY)) {
      assertThat(proxy.get("/role/panel").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-role", "admin");
      // Without the check's header (the server sets x-user only), RBAC denies; a client's own x-role is not needed.
      assertThat(proxy.get("/api/items").statusCode()).isEqualTo(403);
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(authz.checks).hasSize(2);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http2StreamsResumeTheChainAfterTheCheckToo(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, EXT_AUTHZ + ADMINS_ONLY);
        H2Client client = new H2Client(proxy.port())) {
      assertThat(status(client, "/role/h2")).isEqualTo(200);
      assertThat(status(client, "/api/h2")).isEqualTo(403);
      assertThat(a.requests.get()).isEqualTo(1);
    }
  }

  private static int status(H2Client client, String path) throws Exception {
    FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path))
        .get(10, TimeUnit.SECONDS);
    try {
      return r.status().code();
    } finally {
      r.release();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aDeniedCheckTakesNoRateLimitTokenOfAFilterAfterIt(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, EXT_AUTHZ + ONE_TOKEN)) {
      assertThat(proxy.get("/deny/this").statusCode()).isEqualTo(401);
      assertThat(proxy.get("/api/items").statusCode()).as("the one token is still there").isEqualTo(200);
      assertThat(proxy.get("/api/items").statusCode()).isEqualTo(429);
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.denied")).isEqualTo(1);
    }
  }
}
