package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio VirtualService delegation through a real control plane, an ingress gateway and mTLS sidecars, with curl: the
 * root VirtualService bound to the gateway delegates {@code /products} to a VirtualService without hosts, and curl
 * reaches the delegate's destinations by the delegate's paths, with the root rule's rewrite and headers where a
 * delegate rule sets none; a live change of the delegate alone re-routes.
 */
class DelegationEndToEndTest {
  private static String mesh(int http) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product-service }
        spec:
          host: product-service
          subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers: [ { port: { number: %d, name: http, protocol: HTTP }, hosts: [ shop.example.com ] } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com ]
          gateways: [ istio-system/ingress ]
          http:
          - name: products
            match: [ { uri: { prefix: /products } } ]
            delegate: { name: products }
            rewrite: { uri: /catalog }
            headers: { response: { set: { x-root: "yes" } } }
          - name: rest
            directResponse: { status: 404, body: { string: "not in the shop" } }
        """.formatted(http);
  }

  private static String child(String newVersion) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: products }
        spec:
          http:
          - name: new
            match: [ { uri: { prefix: /products/new } } ]
            route: [ { destination: { host: product-service, subset: %s } } ]
            headers: { response: { set: { x-new: "yes" } } }
          - name: all
            route: [ { destination: { host: product-service, subset: v1 } } ]
        """.formatted(newVersion);
  }

  @Test
  void curlReachesTheDelegatesDestinationsByTheDelegatesPathsThroughTheGateway() throws Exception {
    int http = IngressGatewayTest.freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService app2 = new SampleService("product", "v2").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app1.port(), Map.of("version", "v1"));
        Sidecar p2 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app2.port(), Map.of("version", "v2"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", mesh(http) + "---\n" + child("v2")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> curl(http, "/products/new/arrivals").out().contains("x-served-by: product-v2"));
      // The delegate's first rule by its path; its catch-all under the root's /products; the root's other rule.
      assertThat(curl(http, "/products/new/arrivals").out()).contains("x-served-by: product-v2");
      assertThat(curl(http, "/products/old").out()).contains("x-served-by: product-v1");
      // The root rule's options where a child rule sets none (istiod's mergeHTTPRoute): its rewrite replaces the
      // merged match's prefix in both; its headers only where the child has no headers of its own.
      String fresh = curl(http, "/products/new/arrivals").out();
      assertThat(fresh).contains("\"path\":\"/catalog/arrivals\"").contains("x-new: yes").doesNotContain("x-root");
      String old = curl(http, "/products/old").out();
      assertThat(old).contains("\"path\":\"/catalog/old\"").contains("x-root: yes").doesNotContain("x-new");
      IngressGatewayTest.Curl outside = curl(http, "/orders");
      assertThat(outside.out()).startsWith("HTTP/1.1 404").contains("not in the shop").doesNotContain("x-served-by");

      // The delegate changed alone: the root's routes follow it.
      cp.store.apply(PolicyParser.parse("products.yaml", child("v1")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> curl(http, "/products/new/arrivals").out().contains("x-served-by: product-v1"));
    }
  }

  private static IngressGatewayTest.Curl curl(int port, String path) throws Exception {
    IngressGatewayTest.Curl c = IngressGatewayTest.curl("--resolve", "shop.example.com:" + port + ":127.0.0.1",
        "http://shop.example.com:" + port + path);
    assertThat(c.exit()).as(c.err()).isZero();
    return c;
  }
}
