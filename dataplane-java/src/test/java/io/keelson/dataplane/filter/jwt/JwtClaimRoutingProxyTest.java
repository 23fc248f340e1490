package io.keelson.dataplane.filter.jwt;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestJwts;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Routing by a verified JWT's claims over real sockets, both wirings, HTTP/1.1 and HTTP/2: jwt_authn with
 * {@code clear_route_cache} has the route chosen again after the token verified, and routes match the claims through
 * {@code dynamic_metadata} (Istio's shape: {@code istio_authn} / {@code request.auth.claims}, a list claim and a string
 * claim as one-element lists; and Envoy's {@code envoy.filters.http.jwt_authn} payload) or a claim header. The
 * re-selected route's cluster, timeout, header additions and per-route filter config all apply.
 */
class JwtClaimRoutingProxyTest {
  static final String ISS = "https://issuer.example";

  static String filters(TestJwts keys) {
    return """
                  - name: envoy.filters.http.jwt_authn
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
                      providers:
                        origins-0:
                          issuer: %s
                          local_jwks: { inline_string: '%s' }
                          payload_in_metadata: %s
                          clear_route_cache: true
                          claim_to_headers: [ { header_name: x-jwt-team, claim_name: team } ]
                      rules:
                      - match: { prefix: / }
                        requires: { requires_any: { requirements: [ { provider_name: origins-0 }, { allow_missing_or_failed: {} } ] } }
                  - name: envoy.filters.http.local_ratelimit
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                      stat_prefix: listener_rl
                      token_bucket: { max_tokens: 1000, fill_interval: 1s }
        """.formatted(ISS, keys.jwks(), ISS);
  }

  static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - name: admins
                      match:
                        prefix: /
                        dynamic_metadata:
                        - filter: istio_authn
                          path: [ { key: request.auth.claims }, { key: groups } ]
                          value: { list_match: { one_of: { string_match: { exact: admin } } } }
                      route: { cluster: admins, timeout: 0.4s }
                      request_headers_to_add: [ { header: { key: x-route, value: admins } } ]
                      typed_per_filter_config:
                        envoy.filters.http.local_ratelimit:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                          stat_prefix: admins_rl
                          token_bucket: { max_tokens: 500, tokens_per_fill: 500, fill_interval: 1s }
                          filter_enabled: { default_value: { numerator: 100 } }
                          filter_enforced: { default_value: { numerator: 100 } }
                          enable_x_ratelimit_headers: DRAFT_VERSION_03
                    - name: acme
                      match:
                        prefix: /
                        dynamic_metadata:
                        - filter: istio_authn
                          path: [ { key: request.auth.claims }, { key: org }, { key: tenant } ]
                          value: { list_match: { one_of: { string_match: { exact: acme } } } }
                      route: { cluster: tenants }
                      request_headers_to_add: [ { header: { key: x-route, value: acme } } ]
                    - name: gold
                      match:
                        prefix: /
                        dynamic_metadata:
                        - filter: envoy.filters.http.jwt_authn
                          path: [ { key: "https://issuer.example" }, { key: plan } ]
                          value: { string_match: { exact: gold } }
                      route: { cluster: tenants }
                      request_headers_to_add: [ { header: { key: x-route, value: gold } } ]
                    - name: blue-team
                      match:
                        prefix: /
                        headers: [ { name: x-jwt-team, string_match: { exact: blue } } ]
                      route: { cluster: tenants }
                      request_headers_to_add: [ { header: { key: x-route, value: blue-team } } ]
                    - name: anonymous
                      match:
                        prefix: /whoami
                        dynamic_metadata:
                        - filter: istio_authn
                          path: [ { key: request.auth.principal } ]
                          value: { present_match: true }
                          invert: true
                      route: { cluster: fallback }
                      request_headers_to_add: [ { header: { key: x-route, value: anonymous } } ]
                    - name: default
                      match: { prefix: / }
                      route: { cluster: fallback }
                      request_headers_to_add: [ { header: { key: x-route, value: default } } ]
      """;

  /** One answer as the test reads it, whatever the protocol. */
  record Answer(int status, String upstream, String ratelimitLimit) {}

  interface Client {
    Answer get(String path, String... headers) throws Exception;
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void routesByVerifiedClaimsOverHttp1AndHttp2(PipelineMode mode) throws Exception {
    TestJwts keys = new TestJwts();
    try (TestUpstream fallback = new TestUpstream("fallback");
        TestUpstream admins = new TestUpstream("admins");
        TestUpstream tenants = new TestUpstream("tenants");
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("fallback", "ROUND_ROBIN", fallback.port())
            + cluster("admins", "ROUND_ROBIN", admins.port()) + cluster("tenants", "ROUND_ROBIN", tenants.port()),
            filters(keys)), mode);
        H2Client h2 = new H2Client(proxy.port())) {
      Client http1 = (path, headers) -> {
        HttpRequest.Builder b = HttpRequest.newBuilder(proxy.uri(path));
        for (int i = 0; i < headers.length; i += 2) {
          b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> r = proxy.send(b);
        return new Answer(r.statusCode(), r.headers().firstValue("x-upstream").orElse(null),
            r.headers().firstValue("x-ratelimit-limit").orElse(null));
      };
      Client http2 = (path, headers) -> {
        DefaultFullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
        for (int i = 0; i < headers.length; i += 2) {
          r.headers().set(headers[i], headers[i + 1]);
        }
        FullHttpResponse resp = h2.send(r).get(10, TimeUnit.SECONDS);
        try {
          return new Answer(resp.status().code(), resp.headers().get("x-upstream"), resp.headers().get("x-ratelimit-limit"));
        } finally {
          resp.release();
        }
      };
      for (Client c : List.of(http1, http2)) {
        String admin = keys.rs256(TestJwts.claims(ISS, "ann", null, "groups", List.of("dev", "admin")));
        Answer a = c.get("/orders", "authorization", "Bearer " + admin);
        assertThat(a.upstream()).as("a groups list claim with admin: " + a).isEqualTo("admins");
        assertThat(admins.lastHeaders).containsEntry("x-route", "admins");
        assertThat(a.ratelimitLimit()).as("the filters after jwt_authn run with the new route's config").isEqualTo("500");

        String devOnly = keys.es256(TestJwts.claims(ISS, "dan", null, "groups", List.of("dev")));
        Answer d = c.get("/orders", "authorization", "Bearer " + devOnly);
        assertThat(d.upstream()).as("groups without admin").isEqualTo("fallback");
        assertThat(fallback.lastHeaders).containsEntry("x-route", "default");
        assertThat(d.ratelimitLimit()).isNull();

        String acme = keys.rs256(TestJwts.claims(ISS, "tom", null, "org", Map.of("tenant", "acme")));
        assertThat(c.get("/orders", "authorization", "Bearer " + acme).upstream()).as("a nested string claim")
            .isEqualTo("tenants");
        assertThat(tenants.lastHeaders).containsEntry("x-route", "acme");
        String other = keys.rs256(TestJwts.claims(ISS, "tom", null, "org", Map.of("tenant", "initech")));
        assertThat(c.get("/orders", "authorization", "Bearer " + other).upstream()).isEqualTo("fallback");

        String gold = keys.rs256(TestJwts.claims(ISS, "gil", null, "plan", "gold"));
        assertThat(c.get("/orders", "authorization", "Bearer " + gold).upstream())
            .as("the jwt_authn payload_in_metadata namespace").isEqualTo("tenants");
        assertThat(tenants.lastHeaders).containsEntry("x-route", "gold");

        String blue = keys.rs256(TestJwts.claims(ISS, "bo", null, "team", "blue"));
        assertThat(c.get("/orders", "authorization", "Bearer " + blue).upstream()).as("a claim header (claim_to_headers)")
            .isEqualTo("tenants");
        assertThat(tenants.lastHeaders).containsEntry("x-route", "blue-team").containsEntry("x-jwt-team", "blue");

        // No token, a forged token, a client's own claim header: the default route (or the inverted one).
        assertThat(c.get("/orders").upstream()).isEqualTo("fallback");
        assertThat(fallback.lastHeaders).containsEntry("x-route", "default");
        String forged = admin.substring(0, admin.length() - 4) + "AAAA";
        Answer f = c.get("/orders", "authorization", "Bearer " + forged);
        assertThat(f.status()).isEqualTo(200);
        assertThat(f.upstream()).as("a token that fails verification").isEqualTo("fallback");
        assertThat(fallback.lastHeaders).containsEntry("x-route", "default");
        assertThat(c.get("/orders", "x-jwt-team", "blue").upstream()).as("a spoofed claim header does not route")
            .isEqualTo("fallback");
        assertThat(fallback.lastHeaders).containsEntry("x-route", "default").doesNotContainKey("x-jwt-team");

        assertThat(c.get("/whoami").upstream()).isEqualTo("fallback");
        assertThat(fallback.lastHeaders).containsEntry("x-route", "anonymous");
        String plain = keys.rs256(TestJwts.claims(ISS, "pat", null));
        assertThat(c.get("/whoami", "authorization", "Bearer " + plain).upstream()).isEqualTo("fallback");
        assertThat(fallback.lastHeaders).as("an inverted matcher: a principal now exists").containsEntry("x-route", "default");

        // The timeout is the re-selected route's (0.4 s), not the default route's (none).
        long start = System.nanoTime();
        Answer slow = c.get("/delay/2000", "authorization", "Bearer " + admin);
        assertThat(slow.status()).isEqualTo(504);
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1900);
        Answer after = c.get("/orders", "authorization", "Bearer " + admin);
        assertThat(after.upstream()).as("after the timeout: " + after).isEqualTo("admins");
      }
    }
  }
}
