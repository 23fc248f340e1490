package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
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
 * Istio's per-proxy match conditions through a real control plane, sidecars and an ingress gateway (real sockets):
 * two client sidecars with different workload labels get different routes for the same host ({@code sourceLabels}),
 * and a match naming the gateway ({@code gateways}) applies at the gateway but not in the mesh, as does one naming the
 * gateway's workload namespace ({@code sourceNamespace}).
 */
class SourceMatchEndToEndTest {
  private static final String BY_LABELS = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product }
      spec:
        hosts: [ product-service ]
        http:
        - name: from-canary
          match: [ { sourceLabels: { track: canary } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: rest
          route: [ { destination: { host: product-service, subset: v1 } } ]
      """;

  @Test
  void clientsWithDifferentLabelsReachDifferentVersionsOfOneHost() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService app1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService app2 = new SampleService("product", "v2").start("127.0.0.1", 0);
        Sidecar v1 = SidecarEndToEndTest.sidecar(cp, "product-service", Map.of("version", "v1"), app1.port());
        Sidecar v2 = SidecarEndToEndTest.sidecar(cp, "product-service", Map.of("version", "v2"), app2.port());
        Sidecar canary = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of("app", "web", "track", "canary"), 1);
        Sidecar stable = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of("app", "web", "track", "stable"), 1)) {
      List<Policy> all = new ArrayList<>();
      all.addAll(PolicyParser.parse("services.yaml", SidecarEndToEndTest.SERVICES).policies());
      all.addAll(PolicyParser.parse("destination-rule.yaml", Mesh.resource("/canary/destination-rule.yaml")).policies());
      all.addAll(PolicyParser.parse("routes.yaml", BY_LABELS).policies());
      cp.store.apply(all, false);
      int fromCanary = canary.outboundAddress().getPort();
      int fromStable = stable.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> "product-v2".equals(served(fromCanary, "product-service"))
              && "product-v1".equals(served(fromStable, "product-service")));
      for (int i = 0; i < 5; i++) {
        assertThat(served(fromCanary, "product-service")).isEqualTo("product-v2");
        assertThat(served(fromStable, "product-service")).isEqualTo("product-v1");
      }
      // Live: the condition now names the stable track; the two clients swap.
      cp.store.apply(PolicyParser.parse("routes.yaml", BY_LABELS.replace("track: canary", "track: stable")).policies(),
          false);
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> "product-v1".equals(served(fromCanary, "product-service"))
              && "product-v2".equals(served(fromStable, "product-service")));
    }
  }

  @Test
  void aMatchNamingTheGatewayAppliesAtTheGatewayButNotInTheMesh() throws Exception {
    int http = IngressGatewayTest.freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService app2 = new SampleService("product", "v2").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app1.port(), Map.of("version", "v1"));
        Sidecar p2 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app2.port(), Map.of("version", "v2"));
        Sidecar client = SidecarMtlsTest.secureSidecar(cp, "frontend", "frontend", 1, Map.of("app", "web"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", """
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
          metadata: { name: product }
          spec:
            hosts: [ product-service, shop.example.com ]
            gateways: [ mesh, istio-system/ingress ]
            http:
            - name: at-the-edge
              match: [ { gateways: [ istio-system/ingress ], uri: { prefix: /items } } ]
              route: [ { destination: { host: product-service, subset: v2 } } ]
            - name: from-istio-system
              match: [ { sourceNamespace: istio-system, uri: { prefix: /ns } } ]
              route: [ { destination: { host: product-service, subset: v2 } } ]
            - name: rest
              route: [ { destination: { host: product-service, subset: v1 } } ]
          """.formatted(http)).policies(), false);
      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> "product-v2".equals(served(http, "shop.example.com"))
              && "product-v1".equals(served(outbound, "product-service")));
      for (int i = 0; i < 5; i++) {
        assertThat(served(http, "shop.example.com")).as("at the gateway").isEqualTo("product-v2");
        assertThat(served(outbound, "product-service")).as("in the mesh").isEqualTo("product-v1");
      }
      // sourceNamespace: the gateway's workload namespace is its join token's (istio-system), the client's is default.
      assertThat(served(http, "shop.example.com", "/ns/a")).as("the gateway, of istio-system").isEqualTo("product-v2");
      assertThat(served(outbound, "product-service", "/ns/a")).as("a client of default").isEqualTo("product-v1");
    }
  }

  /** GET /items on its own connection; x-served-by, or the status when not 200. */
  private static String served(int port, String host) throws Exception {
    return served(port, host, "/items");
  }

  private static String served(int port, String host, String path) throws Exception {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
      return r.status() == 200 ? r.header("x-served-by") : "status " + r.status();
    }
  }
}
