package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.Mesh;
import io.keelson.dataplane.testing.RawHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's route match fields {@code ignoreUriCase}, {@code withoutHeaders}, {@code authority}, {@code scheme} and a
 * non-exact {@code method}, through a real control plane and sidecars: two versions of a service, each request's version shows
 * which rule matched it.
 */
class RouteMatchEndToEndTest {
  private static final String ROUTES = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product }
      spec:
        hosts: [ product-service ]
        http:
        - name: cleartext
          match: [ { scheme: { exact: http }, headers: { x-scheme-probe: { exact: "1" } } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: tls-only
          match: [ { scheme: { exact: https }, uri: { prefix: /secure } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: admin
          match: [ { uri: { prefix: /Admin }, ignoreUriCase: true } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: stable
          match:
          - withoutHeaders: { x-canary: {}, x-tier: { prefix: beta } }
            method: { regex: "GET|DELETE" }
            authority: { exact: product-service }
          route: [ { destination: { host: product-service, subset: v1 } } ]
        - name: rest
          route: [ { destination: { host: product-service, subset: v2 } } ]
      """;

  @Test
  void ignoreUriCaseWithoutHeadersAuthoritySchemeAndMethodPatternsSelectTheirRules() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService app1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService app2 = new SampleService("product", "v2").start("127.0.0.1", 0);
        Sidecar v1 = SidecarEndToEndTest.sidecar(cp, "product-service", Map.of("version", "v1"), app1.port());
        Sidecar v2 = SidecarEndToEndTest.sidecar(cp, "product-service", Map.of("version", "v2"), app2.port());
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      List<Policy> all = new ArrayList<>();
      all.addAll(PolicyParser.parse("services.yaml", SidecarEndToEndTest.SERVICES).policies());
      all.addAll(PolicyParser.parse("destination-rule.yaml", Mesh.resource("/canary/destination-rule.yaml")).policies());
      all.addAll(PolicyParser.parse("routes.yaml", ROUTES).policies());
      cp.store.apply(all, false);
      int outbound = client.outboundAddress().getPort();
      String gold = "x-tier: gold\r\n";
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> "product-v1".equals(served(outbound, "GET /items", "product-service", gold)));

      // ignoreUriCase: /admin matches the /Admin prefix (case-sensitive, it would fall to "stable": v1).
      assertThat(served(outbound, "GET /admin/users", "product-service", gold)).isEqualTo("product-v2");
      assertThat(served(outbound, "GET /ADMIN", "product-service", gold)).isEqualTo("product-v2");
      assertThat(served(outbound, "GET /administrator", "product-service", gold)).isEqualTo("product-v2");
      assertThat(served(outbound, "GET /adm", "product-service", gold)).isEqualTo("product-v1");
      // withoutHeaders: x-canary present at all, or x-tier starting with beta, leaves "stable". As in Istio (and
      // Envoy's inverted matchers), a value matcher needs the header present: no x-tier at all does not match either.
      assertThat(served(outbound, "GET /items", "product-service", gold + "x-canary: no\r\n")).isEqualTo("product-v2");
      assertThat(served(outbound, "GET /items", "product-service", "x-tier: beta-2\r\n")).isEqualTo("product-v2");
      assertThat(served(outbound, "GET /items", "product-service", "")).isEqualTo("product-v2");
      // method as a regex: DELETE matches, POST does not.
      assertThat(served(outbound, "DELETE /items", "product-service", gold)).isEqualTo("product-v1");
      assertThat(served(outbound, "POST /items", "product-service", gold + "content-length: 0\r\n"))
          .isEqualTo("product-v2");
      // authority exact: the same virtual host reached with :80 in Host is another authority.
      assertThat(served(outbound, "GET /items", "product-service:80", gold)).isEqualTo("product-v2");
      // scheme: the sidecar's outbound requests are cleartext, so http matches and https does not.
      assertThat(served(outbound, "GET /items", "product-service", gold + "x-scheme-probe: 1\r\n"))
          .isEqualTo("product-v2");
      assertThat(served(outbound, "GET /secure", "product-service", gold)).isEqualTo("product-v1");
    }
  }

  /** One request on its own connection; x-served-by, or the status when not 200. */
  private static String served(int port, String requestLine, String host, String headers) throws Exception {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send(requestLine + " HTTP/1.1\r\nHost: " + host + "\r\n" + headers + "\r\n").read();
      return r.status() == 200 ? r.header("x-served-by") : "status " + r.status();
    }
  }
}
