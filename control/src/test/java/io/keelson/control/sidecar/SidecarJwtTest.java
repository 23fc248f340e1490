package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.secureSidecar;
import static io.keelson.control.sidecar.SidecarMtlsTest.served;
import static io.keelson.control.sidecar.SidecarMtlsTest.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestJwts;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * End to end: RequestAuthentication (JWKS from a URI the destination sidecar fetches) and an
 * AuthorizationPolicy on requestPrincipals, applied to the control plane and enforced by the
 * destination's sidecar behind mesh mTLS.
 */
class SidecarJwtTest {
  static final String ISS = "https://idp.example";

  @Test
  void requestAuthenticationAndRequestPrincipalsAreEnforcedByTheDestinationSidecar() throws Exception {
    TestJwts keys = new TestJwts();
    HttpServer jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    jwks.createContext("/keys.json", ex -> {
      byte[] body = keys.jwks().getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    jwks.start();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));
      cp.store.apply(PolicyParser.parse("jwt.yaml", """
          apiVersion: security.istio.io/v1
          kind: RequestAuthentication
          metadata: { name: idp, namespace: default }
          spec:
            jwtRules:
            - issuer: %s
              jwksUri: http://127.0.0.1:%d/keys.json
          ---
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: alice-only, namespace: default }
          spec:
            action: ALLOW
            rules:
            - from: [ { source: { requestPrincipals: [ "%s/alice" ] } } ]
          """.formatted(ISS, jwks.getAddress().getPort(), ISS)).policies(), false);
      String alice = "authorization: Bearer " + keys.rs256(TestJwts.claims(ISS, "alice", null)) + "\r\n";
      // The policy reached the destination sidecar: without a token, denied.
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "GET", "/items", "") == 403);
      // Once it has fetched the JWKS, alice's token verifies and her principal is allowed.
      await().atMost(Duration.ofSeconds(30)).until(() -> status(outbound, "GET", "/items", alice) == 200);
      assertThat(status(outbound, "GET", "/items",
          "authorization: Bearer " + keys.es256(TestJwts.claims(ISS, "bob", null)) + "\r\n")).as("bob").isEqualTo(403);
      var expired = TestJwts.claims(ISS, "alice", null);
      expired.put("exp", System.currentTimeMillis() / 1000 - 3600);
      assertThat(status(outbound, "GET", "/items", "authorization: Bearer " + keys.rs256(expired) + "\r\n"))
          .as("expired").isEqualTo(401);
      assertThat(status(outbound, "GET", "/items", "authorization: Bearer "
          + keys.rs256(TestJwts.claims("https://evil.example", "alice", null)) + "\r\n")).as("unknown issuer").isEqualTo(401);
      assertThat(status(outbound, "GET", "/items", "authorization: Bearer "
          + keys.rs256SignedBy(new TestJwts().rsa, TestJwts.claims(ISS, "alice", null)) + "\r\n")).as("forged").isEqualTo(401);
      // Removing the RequestAuthentication: tokens are no longer verified, so the principal policy denies alice too.
      cp.store.delete("RequestAuthentication", "default", "idp", false);
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "GET", "/items", alice) == 403);
    } finally {
      jwks.stop(0);
    }
  }

  /**
   * RequestAuthentication {@code fromCookies} and {@code outputClaimToHeaders}: a token in a cookie is verified by the
   * destination sidecar, which hands the app the claims as headers (a nested one too), replacing a client's own header
   * of that name; a forged cookie token is refused.
   */
  @Test
  void aTokenFromACookieIsVerifiedAndItsClaimsReachTheAppAsHeaders() throws Exception {
    TestJwts keys = new TestJwts();
    HttpServer jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    jwks.createContext("/keys.json", ex -> {
      byte[] body = keys.jwks().getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    jwks.start();
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", ex -> { // echoes the claim headers it was given
      byte[] body = ("user=" + ex.getRequestHeaders().getFirst("x-user") + " tenant="
          + ex.getRequestHeaders().getFirst("x-tenant")).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    app.start();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        Sidecar product = secureSidecar(cp, "product-service", "product", app.getAddress().getPort());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES).policies(), false);
      cp.store.apply(PolicyParser.parse("jwt.yaml", """
          apiVersion: security.istio.io/v1
          kind: RequestAuthentication
          metadata: { name: idp, namespace: default }
          spec:
            jwtRules:
            - issuer: %s
              jwksUri: http://127.0.0.1:%d/keys.json
              fromCookies: [ session ]
              outputClaimToHeaders:
              - { header: x-user, claim: sub }
              - { header: x-tenant, claim: org.tenant }
          ---
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: signed-in, namespace: default }
          spec:
            action: ALLOW
            rules:
            - from: [ { source: { requestPrincipals: [ "*" ] } } ]
          """.formatted(ISS, jwks.getAddress().getPort())).policies(), false);
      int outbound = web.outboundAddress().getPort();
      String token = keys.rs256(TestJwts.claims(ISS, "alice", null, "org", java.util.Map.of("tenant", "acme")));
      String cookie = "cookie: theme=dark; session=" + token + "\r\nx-tenant: spoofed\r\n";
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> body(outbound, cookie)
          .equals("user=alice tenant=acme"));
      assertThat(status(outbound, "GET", "/items", "")).as("no token: no principal").isEqualTo(403);
      assertThat(status(outbound, "GET", "/items", "cookie: session=" + token.substring(0, token.length() - 4)
          + "AAAA\r\n")).as("forged cookie token").isEqualTo(401);
    } finally {
      jwks.stop(0);
      app.stop(0);
    }
  }

  private static String body(int port, String headers) throws Exception {
    try (io.keelson.dataplane.testing.RawHttp http = new io.keelson.dataplane.testing.RawHttp(port)) {
      var r = http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n" + headers + "\r\n").read();
      return r.status() == 200 ? r.body() : "status " + r.status();
    }
  }
}
