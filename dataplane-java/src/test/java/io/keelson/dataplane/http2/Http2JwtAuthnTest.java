package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestJwts;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** jwt_authn before RBAC on HTTP/2 (h2c, the policy ring): the same decisions and header changes as HTTP/1.1. */
class Http2JwtAuthnTest {
  static final String ISS = "https://issuer.example";
  final TestJwts keys = new TestJwts();
  TestUpstream upstream;
  ProxyHarness proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = new TestUpstream("u1");
    String filters = """
                  - name: envoy.filters.http.jwt_authn
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
                      providers:
                        p:
                          issuer: %s
                          local_jwks: { inline_string: '%s' }
                          forward_payload_header: x-jwt-payload
                      rules:
                      - match: { prefix: / }
                        requires: { requires_any: { requirements: [ { provider_name: p }, { allow_missing: {} } ] } }
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        policies:
                          alice:
                            permissions: [ { any: true } ]
                            principals:
                            - metadata:
                                filter: istio_authn
                                path: [ { key: request.auth.principal } ]
                                value: { string_match: { exact: "%s/alice" } }
        """.formatted(ISS, keys.jwks(), ISS);
    proxy = new ProxyHarness(ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port()), filters), PipelineMode.DISRUPTOR);
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  static DefaultFullHttpRequest get(String path, String token) {
    DefaultFullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    if (token != null) {
      r.headers().set("authorization", "Bearer " + token);
    }
    return r;
  }

  @Test
  void aVerifiedPrincipalIsAllowedAndItsTokenReplacedByThePayloadOthersAreRefused() throws Exception {
    String alice = keys.es256(TestJwts.claims(ISS, "alice", null));
    var expired = TestJwts.claims(ISS, "alice", null);
    expired.put("exp", System.currentTimeMillis() / 1000 - 3600);
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse ok = client.send(get("/items", alice)).get(20, TimeUnit.SECONDS);
      assertThat(ok.status().code()).isEqualTo(200);
      assertThat(upstream.lastHeaders).doesNotContainKey("authorization");
      assertThat(upstream.lastHeaders.get("x-jwt-payload")).isEqualTo(alice.split("\\.")[1]);
      ok.release();
      FullHttpResponse none = client.send(get("/items", null)).get(20, TimeUnit.SECONDS);
      assertThat(none.status().code()).as("no token: denied by RBAC").isEqualTo(403);
      none.release();
      FullHttpResponse bad = client.send(get("/items", keys.rs256(expired))).get(20, TimeUnit.SECONDS);
      assertThat(bad.status().code()).isEqualTo(401);
      assertThat(bad.headers().get("www-authenticate")).endsWith(", error=\"invalid_token\"");
      bad.release();
    }
  }
}
