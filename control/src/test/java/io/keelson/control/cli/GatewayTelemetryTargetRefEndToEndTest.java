package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static io.keelson.control.cli.GatewayTelemetryEndToEndTest.call;
import static io.keelson.control.cli.GatewayTelemetryEndToEndTest.freePort;
import static io.keelson.control.cli.GatewayTelemetryEndToEndTest.lines;
import static io.keelson.control.cli.GatewayTelemetryEndToEndTest.logs;
import static io.keelson.control.cli.GatewayTelemetryEndToEndTest.proxy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import io.keelson.control.demo.SampleService;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.control.sidecar.SidecarBootstrap;
import io.keelson.testkit.OtlpCollector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Telemetry {@code targetRefs} at Gateway API gateways, end to end: {@code bin/keelson control} as a process with the
 * mesh's JSON access log, two Gateway API Gateways ({@code public}, {@code internal}) in namespace {@code edge}, each
 * served by its own gateway proxy (labelled {@code gateway.networking.k8s.io/gateway-name}, token namespace
 * {@code edge}), one HTTPRoute on both to product-service behind a sidecar. The namespace's Telemetry turns access
 * logs off; a Telemetry whose {@code targetRefs} names Gateway {@code public} turns them on at that gateway's proxy
 * only: a request through {@code public} is logged at the gateway and the backend, one through {@code internal} at
 * the backend only.
 */
class GatewayTelemetryTargetRefEndToEndTest {
  @TempDir
  Path dir;

  @Test
  void aTelemetryTargetingOneGatewayTurnsItsAccessLogOnWhileTheOtherGatewaysStaysOff() throws Exception {
    Path accessLog = dir.resolve("access.log");
    int publicPort = freePort();
    int internalPort = freePort();
    try (OtlpCollector collector = new OtlpCollector()) {
      TelemetryControlProcess started = TelemetryControlProcess.start(dir, accessLog, dir.resolve("control.log"),
          collector.port());
      Process control = started.process();
      try {
        String server = started.server();
        int securePort = started.securePort();
        Path mesh = dir.resolve("mesh.yaml");
        Files.writeString(mesh, mesh(publicPort, internalPort));
        Result appliedMesh = cli("apply", "-f", mesh.toString(), "--server", server);
        assertThat(appliedMesh.code()).as(appliedMesh.err()).isZero();
        Path root = dir.resolve("root.pem");
        Files.writeString(root, cli("ca-root", "--server", server).out());

        try (SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
            Sidecar product = proxy(server, securePort, root, "default", "product", new SidecarBootstrap("127.0.0.1",
                securePort, "product-service", Map.of("app", "product"), app.port(), 0, 0, "127.0.0.1", 0));
            Sidecar publicGw = gateway(server, securePort, root, "public");
            Sidecar internalGw = gateway(server, securePort, root, "internal")) {
          await().atMost(Duration.ofSeconds(30)).until(() -> call(publicPort, "/warmup").status() == 200
              && call(internalPort, "/warmup").status() == 200);
          await().atMost(Duration.ofSeconds(20)).until(() -> !logs(publicGw).isEmpty());
          assertThat(logs(internalGw)).as("the internal gateway's listeners log nothing").isEmpty();

          for (int i = 0; i < 3; i++) {
            assertThat(call(publicPort, "/items/public-" + i).status()).isEqualTo(200);
            assertThat(call(internalPort, "/items/internal-" + i).status()).isEqualTo(200);
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(accessLog, "/items/public-").size() == 6
              && lines(accessLog, "/items/internal-").size() == 3);
          await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
              .until(() -> lines(accessLog, "/items/internal-").size() == 3);
          assertThat(lines(accessLog, "/items/public-")).filteredOn(
              l -> l.path("upstream_cluster").asText().equals("product-service")).as("the public gateway's lines")
              .hasSize(3);
          assertThat(lines(accessLog, "/items/internal-")).as("only the backend's inbound side logs")
              .allMatch(l -> l.path("upstream_cluster").asText().equals("inbound|app"));
        }
      } finally {
        control.destroy();
        if (!control.waitFor(10, TimeUnit.SECONDS)) {
          control.destroyForcibly();
        }
      }
    }
  }

  private Sidecar gateway(String server, int securePort, Path root, String name) throws Exception {
    return proxy(server, securePort, root, "edge", name, SidecarBootstrap.gateway("127.0.0.1", securePort, name,
        Map.of("gateway.networking.k8s.io/gateway-name", name), "127.0.0.1", "127.0.0.1", 0));
  }

  private static String mesh(int publicPort, int internalPort) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        %s%s---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: shop }
        spec:
          parentRefs: [ { name: public, namespace: edge }, { name: internal, namespace: edge } ]
          hostnames: [ shop.example.com ]
          rules: [ { backendRefs: [ { name: product-service, port: 80 } ] } ]
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: edge-quiet, namespace: edge }
        spec: { accessLogging: [ { disabled: true } ] }
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: public-logs, namespace: edge }
        spec:
          targetRefs: [ { group: gateway.networking.k8s.io, kind: Gateway, name: public } ]
          accessLogging: [ { providers: [ { name: envoy } ] } ]
        """.formatted(gatewayDoc("public", publicPort), gatewayDoc("internal", internalPort));
  }

  /** A Gateway API Gateway of namespace edge with one HTTP listener on {@code port} taking routes of any namespace. */
  private static String gatewayDoc(String name, int port) {
    return """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: %s, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - { name: http, port: %d, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
        """.formatted(name, port);
  }
}
