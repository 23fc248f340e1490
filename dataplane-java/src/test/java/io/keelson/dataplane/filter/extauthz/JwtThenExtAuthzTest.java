package io.keelson.dataplane.filter.extauthz;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestJwts;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * jwt_authn then ext_authz, as Envoy runs them: the authorization server is asked about the request as jwt_authn left
 * it — the token header removed (forward: false), the claim header the token's and not the client's. Real HTTP authz
 * server and upstream, both wirings.
 */
class JwtThenExtAuthzTest {
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void theCheckSeesTheHeadersJwtAuthnLeft(PipelineMode mode) throws Exception {
    TestJwts keys = new TestJwts();
    String filters = """
        - name: envoy.filters.http.jwt_authn
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
            providers:
              idp:
                issuer: https://idp.example
                local_jwks: { inline_string: '%s' }
                claim_to_headers: [ { header_name: x-tenant, claim_name: tenant } ]
            rules: [ { match: { prefix: / }, requires: { provider_name: idp } } ]
        - name: envoy.filters.http.ext_authz
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
            http_service:
              server_uri: { uri: "http://authz", cluster: authz, timeout: 3s }
              path_prefix: /check
            allowed_headers: { patterns: [ { exact: x-tenant }, { exact: authorization } ] }
        """.formatted(keys.jwks()).indent(10);
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("authz", "ROUND_ROBIN", authz.port()), filters), mode)) {
      String token = keys.rs256(TestJwts.claims("https://idp.example", "alice", null, "tenant", "acme"));
      assertThat(proxy.get("/api", "authorization", "Bearer " + token, "x-tenant", "spoofed").statusCode())
          .isEqualTo(200);
      assertThat(authz.checks).hasSize(1);
      Map<String, String> seen = authz.checks.getFirst().headers();
      assertThat(seen).as("the claim, not the client's header").containsEntry("x-tenant", "acme")
          .as("the token jwt_authn removed").doesNotContainKey("authorization");
      assertThat(a.lastHeaders).containsEntry("x-tenant", "acme").doesNotContainKey("authorization");
    }
  }
}
