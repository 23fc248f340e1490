package io.keelson.dataplane.filter.jwt;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestJwts;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * jwt_authn in front of RBAC over real sockets, configured the way Istio translates a
 * RequestAuthentication plus an AuthorizationPolicy with requestPrincipals; the JWKS is served by a
 * test HTTP server that fails until the test lets it answer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JwtAuthnProxyTest {
  static final String ISS = "https://issuer.example";
  final TestJwts keys = new TestJwts();
  final AtomicBoolean jwksUp = new AtomicBoolean();
  final AtomicInteger jwksFetches = new AtomicInteger();
  HttpServer jwks;
  TestUpstream app;
  ProxyHarness proxy;

  static String filters(int jwksPort) {
    return """
                  - name: envoy.filters.http.jwt_authn
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
                      providers:
                        origins-0:
                          issuer: %s
                          audiences: [svc.example]
                          remote_jwks:
                            http_uri: { uri: "http://127.0.0.1:%d/jwks.json", cluster: jwks, timeout: 2s }
                            cache_duration: 300s
                          forward_payload_header: x-jwt-payload
                          payload_in_metadata: %s
                          from_headers: [ { name: authorization, value_prefix: "Bearer " } ]
                          from_cookies: [ session ]
                          claim_to_headers:
                          - { header_name: x-jwt-sub, claim_name: sub }
                          - { header_name: x-jwt-tenant, claim_name: org.tenant }
                          - { header_name: x-jwt-level, claim_name: level }
                          - { header_name: x-jwt-name, claim_name: name }
                      rules:
                      - match: { prefix: / }
                        requires: { requires_any: { requirements: [ { provider_name: origins-0 }, { allow_missing: {} } ] } }
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        action: ALLOW
                        policies:
                          alice:
                            permissions: [ { any: true } ]
                            principals:
                            - metadata:
                                filter: istio_authn
                                path: [ { key: request.auth.principal } ]
                                value: { string_match: { exact: "%s/alice" } }
                          admins:
                            permissions: [ { url_path: { path: { prefix: /admin } } } ]
                            principals:
                            - metadata:
                                filter: istio_authn
                                path: [ { key: request.auth.claims }, { key: groups } ]
                                value: { list_match: { one_of: { string_match: { exact: admin } } } }
                          public:
                            permissions: [ { url_path: { path: { prefix: /public } } } ]
                            principals: [ { any: true } ]
                          tenant-acme:
                            permissions: [ { url_path: { path: { prefix: /tenant } } } ]
                            principals: [ { header: { name: x-jwt-tenant, string_match: { exact: acme } } } ]
        """.formatted(ISS, jwksPort, ISS, ISS);
  }

  @BeforeAll
  void start() throws Exception {
    jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    jwks.createContext("/jwks.json", ex -> {
      jwksFetches.incrementAndGet();
      byte[] body = jwksUp.get() ? keys.jwks().getBytes(StandardCharsets.UTF_8) : "down".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(jwksUp.get() ? 200 : 503, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    jwks.start();
    app = new TestUpstream("app");
    String vhosts = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: app }
        """;
    proxy = new ProxyHarness(bootstrap(vhosts, cluster("app", "ROUND_ROBIN", app.port()), filters(jwks.getAddress().getPort())),
        PipelineMode.INLINE);
    // Until the JWKS can be fetched, a token cannot be verified: 401, and the upstream is not reached.
    await().atMost(Duration.ofSeconds(20)).until(() -> jwksFetches.get() >= 1);
    HttpResponse<String> early = get("/x", keys.rs256(TestJwts.claims(ISS, "alice", "svc.example")));
    assertThat(early.statusCode()).isEqualTo(401);
    assertThat(early.body()).isEqualTo("Jwks remote fetch is failed");
    assertThat(app.requests.get()).isZero();
    jwksUp.set(true);
    await().atMost(Duration.ofSeconds(30)).until(
        () -> get("/x", keys.rs256(TestJwts.claims(ISS, "alice", "svc.example"))).statusCode() == 200);
  }

  @AfterAll
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    app.close();
    jwks.stop(0);
  }

  HttpResponse<String> get(String path, String token) throws Exception {
    return token == null ? proxy.get(path) : proxy.get(path, "authorization", "Bearer " + token);
  }

  @Test
  void aValidTokenIsVerifiedStrippedAndItsPrincipalAllowedByRbac() throws Exception {
    for (String token : new String[] {keys.rs256(TestJwts.claims(ISS, "alice", "svc.example")),
        keys.es256(TestJwts.claims(ISS, "alice", "svc.example"))}) {
      HttpResponse<String> r = get("/orders", token);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(app.lastHeaders).doesNotContainKey("authorization");
      assertThat(app.lastHeaders.get("x-jwt-payload")).isEqualTo(token.split("\\.")[1]);
    }
  }

  @Test
  void aTokenInACookieIsVerifiedAndClaimsBecomeHeadersReplacingTheClients() throws Exception {
    String token = keys.rs256(TestJwts.claims(ISS, "alice", "svc.example", "org", java.util.Map.of("tenant", "acme"),
        "level", 7));
    HttpResponse<String> r = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/orders"))
        .header("cookie", "theme=dark; session=" + token + "; other=1")
        .header("x-jwt-tenant", "spoofed").header("x-jwt-level", "99"));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(app.lastHeaders).containsEntry("x-jwt-sub", "alice").containsEntry("x-jwt-tenant", "acme")
        .containsEntry("x-jwt-level", "7");
    assertThat(app.lastHeaders.get("cookie")).as("a cookie stays in the request").contains("session=");

    // A verified token without the claims: the client's own headers of those names do not pass as claims.
    HttpResponse<String> bare = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/orders"))
        .header("authorization", "Bearer " + keys.rs256(TestJwts.claims(ISS, "alice", "svc.example")))
        .header("x-jwt-tenant", "spoofed"));
    assertThat(bare.statusCode()).isEqualTo(200);
    assertThat(app.lastHeaders).doesNotContainKey("x-jwt-tenant").containsEntry("x-jwt-sub", "alice");

    // A forged cookie token is refused like a forged header token.
    HttpResponse<String> forged = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/orders"))
        .header("cookie", "session=" + token.substring(0, token.length() - 4) + "AAAA"));
    assertThat(forged.statusCode()).isEqualTo(401);
  }

  /**
   * Claim headers are the token's or absent, for every filter after jwt_authn and for the app: a client's own header
   * of that name is removed without a token, and RBAC reading the header sees the claim, not what the client sent.
   */
  @Test
  void claimHeadersCannotBeSpoofedAndLaterFiltersSeeTheClaim() throws Exception {
    assertThat(proxy.get("/public", "x-jwt-sub", "admin").statusCode()).isEqualTo(200);
    assertThat(app.lastHeaders).as("no token: the client's header is dropped").doesNotContainKey("x-jwt-sub");

    String evil = keys.rs256(TestJwts.claims(ISS, "carol", "svc.example", "org", java.util.Map.of("tenant", "evil")));
    HttpResponse<String> spoofed = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/tenant"))
        .header("authorization", "Bearer " + evil).header("x-jwt-tenant", "acme"));
    assertThat(spoofed.statusCode()).as("RBAC reads the claim (evil), not the client's acme").isEqualTo(403);
    String acme = keys.rs256(TestJwts.claims(ISS, "carol", "svc.example", "org", java.util.Map.of("tenant", "acme"),
        "name", "\u0141ukasz\r\nx-evil: 1"));
    HttpResponse<String> real = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/tenant"))
        .header("authorization", "Bearer " + acme));
    assertThat(real.statusCode()).isEqualTo(200);
    assertThat(app.lastHeaders).containsEntry("x-jwt-tenant", "acme")
        .as("a claim a header cannot carry is not set, and the request is not refused for it")
        .doesNotContainKey("x-jwt-name").doesNotContainKey("x-evil");
  }

  /** Cookies as the proxy holds them: several Cookie fields joined with ',', a quoted value, an empty (cleared) one. */
  @Test
  void cookieTokensAreFoundAcrossJoinedFieldsAndQuotesAndAnEmptyOneIsNoToken() throws Exception {
    String token = keys.rs256(TestJwts.claims(ISS, "alice", "svc.example"));
    try (io.keelson.dataplane.testing.RawHttp http = new io.keelson.dataplane.testing.RawHttp(proxy.port())) {
      assertThat(http.send("GET /orders HTTP/1.1\r\nHost: x\r\ncookie: a=1\r\ncookie: session=" + token
          + "\r\n\r\n").read().status()).as("two Cookie fields").isEqualTo(200);
      assertThat(app.lastHeaders).containsEntry("x-jwt-sub", "alice");
      assertThat(http.send("GET /orders HTTP/1.1\r\nHost: x\r\ncookie: session=\"" + token + "\"\r\n\r\n").read()
          .status()).as("a quoted value").isEqualTo(200);
      assertThat(http.send("GET /orders HTTP/1.1\r\nHost: x\r\ncookie: session=; a=1\r\n\r\n").read().status())
          .as("an empty cookie is no token: RBAC denies the anonymous request, not a 401").isEqualTo(403);
    }
  }

  @Test
  void anotherVerifiedPrincipalIsDeniedByRbacUnlessAClaimAllowsIt() throws Exception {
    assertThat(get("/orders", keys.rs256(TestJwts.claims(ISS, "bob", "svc.example"))).statusCode()).isEqualTo(403);
    assertThat(get("/admin/x", keys.rs256(TestJwts.claims(ISS, "bob", "svc.example"))).statusCode()).isEqualTo(403);
    assertThat(get("/admin/x", keys.es256(TestJwts.claims(ISS, "bob", "svc.example", "groups", java.util.List.of("dev", "admin"))))
        .statusCode()).isEqualTo(200);
  }

  @Test
  void aMissingTokenPassesAuthenticationButIsDeniedWhereAPrincipalIsRequired() throws Exception {
    HttpResponse<String> denied = get("/orders", null);
    assertThat(denied.statusCode()).isEqualTo(403);
    assertThat(denied.body()).isEqualTo("RBAC: access denied");
    assertThat(get("/public/page", null).statusCode()).isEqualTo(200);
  }

  @Test
  void invalidTokensAre401AndAWrongAudienceIs403BeforeTheUpstream() throws Exception {
    int before = app.requests.get();
    var expired = TestJwts.claims(ISS, "alice", "svc.example");
    expired.put("exp", System.currentTimeMillis() / 1000 - 3600);
    String[][] cases = {
        {keys.rs256(expired), "401", "Jwt is expired"},
        {keys.rs256(TestJwts.claims("https://evil.example", "alice", "svc.example")), "401", "Jwt issuer is not configured"},
        {keys.rs256SignedBy(new TestJwts().rsa, TestJwts.claims(ISS, "alice", "svc.example")), "401", "Jwt verification fails"},
        {keys.es256(TestJwts.claims(ISS, "alice", "other.example")), "403", "Audiences in Jwt are not allowed"},
    };
    for (String[] c : cases) {
      // Even on a path RBAC leaves public: authentication fails first.
      HttpResponse<String> r = get("/public/page", c[0]);
      assertThat(r.statusCode()).as(c[2]).isEqualTo(Integer.parseInt(c[1]));
      assertThat(r.body()).isEqualTo(c[2]);
      assertThat(r.headers().firstValue("www-authenticate")).hasValue(
          "Bearer realm=\"http://127.0.0.1:" + proxy.port() + "/public/page\", error=\"invalid_token\"");
    }
    assertThat(app.requests.get()).isEqualTo(before);
    assertThat(proxy.admin("/stats")).contains("http.ingress_http.jwt_authn.denied: ");
  }
}
