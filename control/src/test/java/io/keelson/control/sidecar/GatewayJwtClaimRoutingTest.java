package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.ProxyStatus;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestJwts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end over real sockets: Istio's JWT claim-based routing through an ingress gateway. A VirtualService matches
 * {@code @request.auth.claims.groups} (a list claim), {@code @request.auth.claims.tier} (a string claim) and negates
 * {@code @request.auth.claims.org.suspended} in withoutHeaders; the RequestAuthentication selecting the gateway
 * verifies the token and the gateway chooses the route again with its claims. Without a RequestAuthentication the
 * claim routes never match (as with istiod) and the gateway's status warns.
 */
class GatewayJwtClaimRoutingTest {
  private static final String ISS = "https://idp.example";
  private static final Map<String, String> LABELS = Map.of("istio", "ingressgateway");

  private static String routes(int http) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: staff-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: %d, name: http, protocol: HTTP }
            hosts: [ shop.example.com ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com ]
          gateways: [ istio-system/ingress ]
          http:
          - name: admins
            match: [ { headers: { "@request.auth.claims.groups": { exact: admin } } } ]
            route: [ { destination: { host: staff-service } } ]
          - name: gold
            match:
            - headers: { "@request.auth.claims.tier": { prefix: gold } }
              withoutHeaders: { "@request.auth.claims.org.suspended": { exact: "yes" } }
            route: [ { destination: { host: staff-service } } ]
          - name: everyone
            route: [ { destination: { host: product-service } } ]
        """.formatted(http);
  }

  /** A backend answering 200 with its name. */
  private static HttpServer app(String name) throws IOException {
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", ex -> {
      byte[] body = name.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    app.start();
    return app;
  }

  /** "STATUS BODY" of a GET through the gateway, or "-1" when the connection failed. */
  private static String get(int port, String token) {
    try (RawHttp c = new RawHttp(port)) {
      RawHttp.Response r = c.send("GET /items HTTP/1.1\r\nHost: shop.example.com\r\n"
          + (token == null ? "" : "authorization: Bearer " + token + "\r\n") + "\r\n").read();
      return r.status() + " " + r.body();
    } catch (IOException e) {
      return "-1";
    }
  }

  private static List<String> warnings(ControlPlane cp, Sidecar gw) {
    return cp.xds.status().stream().filter(s -> s.nodeId().equals(gw.nodeId())).findFirst()
        .map(ProxyStatus::warnings).orElse(List.of());
  }

  @Test
  void theGatewayRoutesByTheVerifiedTokensClaimsAndOnlyWhereARequestAuthenticationVerifiesThem() throws Exception {
    int http = freePort();
    TestJwts keys = new TestJwts();
    HttpServer product = app("product");
    HttpServer staff = app("staff");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        Sidecar productSidecar = SidecarMtlsTest.secureSidecar(cp, "product-service", "product",
            product.getAddress().getPort(), Map.of("app", "product"));
        Sidecar staffSidecar = SidecarMtlsTest.secureSidecar(cp, "staff-service", "staff",
            staff.getAddress().getPort(), Map.of("app", "staff"));
        Sidecar gw = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway("127.0.0.1",
            cp.security.securePort().port(), "ingress", LABELS, "127.0.0.1", "127.0.0.1", 0))) {
      String admin = keys.rs256(TestJwts.claims(ISS, "ann", null, "groups", List.of("dev", "admin")));
      String gold = keys.es256(TestJwts.claims(ISS, "gus", null, "tier", "gold-plus", "org", Map.of("suspended", "no")));
      String suspended = keys.rs256(TestJwts.claims(ISS, "sam", null, "tier", "gold", "org", Map.of("suspended", "yes")));
      String dev = keys.rs256(TestJwts.claims(ISS, "dan", null, "groups", List.of("dev"), "tier", "silver"));

      // No RequestAuthentication: no token is verified at the gateway, so the claim routes never match.
      cp.store.apply(PolicyParser.parse("routes.yaml", routes(http)).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> get(http, null).equals("200 product"));
      assertThat(get(http, admin)).isEqualTo("200 product");
      await().atMost(Duration.ofSeconds(10)).until(() -> !warnings(cp, gw).isEmpty());
      assertThat(warnings(cp, gw)).anySatisfy(w -> assertThat(w).contains("match JWT claims (@request.auth.claims)")
          .contains("no RequestAuthentication selects this gateway"));

      cp.store.apply(PolicyParser.parse("jwt.yaml", """
          apiVersion: security.istio.io/v1
          kind: RequestAuthentication
          metadata: { name: idp, namespace: istio-system }
          spec:
            selector: { matchLabels: { istio: ingressgateway } }
            jwtRules: [ { issuer: "%s", jwks: '%s' } ]
          """.formatted(ISS, keys.jwks())).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> get(http, admin).equals("200 staff"));
      assertThat(get(http, gold)).as("a string claim, prefix match").isEqualTo("200 staff");
      assertThat(get(http, suspended)).as("withoutHeaders on a nested claim negates").isEqualTo("200 product");
      assertThat(get(http, dev)).as("claims that match no claim route").isEqualTo("200 product");
      assertThat(get(http, null)).as("no token").isEqualTo("200 product");
      String forged = admin.substring(0, admin.length() - 4) + "AAAA";
      assertThat(get(http, forged)).as("a forged token is refused at the edge, as Istio").startsWith("401 ");
      assertThat(warnings(cp, gw)).noneSatisfy(w -> assertThat(w).contains("JWT claims"));
    } finally {
      product.stop(0);
      staff.stop(0);
    }
  }
}
