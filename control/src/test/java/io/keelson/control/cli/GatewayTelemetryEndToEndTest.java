package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keelson.control.demo.SampleService;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.control.sidecar.SidecarBootstrap;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.testkit.OtlpCollector;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access logs and tracing at an ingress gateway, configured only at the control plane: {@code bin/keelson control} as
 * a real process with {@code --access-log-file} (JSON) and {@code --tracing-otlp} at an in-test OTLP collector, an
 * ingress gateway with identity {@code istio-ingress/ingress} (not the root namespace, where Istio ignores a Telemetry
 * selector) programmed by an Istio Gateway and VirtualService, and product-service behind a sidecar. Each request
 * through the gateway is one line at the gateway (with the external client's address and port) and one at the
 * backend's inbound; the gateway's span and the backend sidecar's are in one trace at the collector; a Telemetry
 * selecting the gateway's labels turns its log off on the running gateway; {@code bin/keelson explain --gateway}
 * answers which route a Host/path takes at one of its ports.
 */
class GatewayTelemetryEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  @Test
  void gatewayLogsEachRequestWithTheClientsAddressTracesIntoTheBackendsTraceAndTelemetryTurnsItOffLive()
      throws Exception {
    Path accessLog = dir.resolve("access.log");
    Path controlLog = dir.resolve("control.log");
    int http = freePort();
    try (OtlpCollector collector = new OtlpCollector()) {
      TelemetryControlProcess started = TelemetryControlProcess.start(dir, accessLog, controlLog, collector.port());
      Process control = started.process();
      try {
        String server = started.server();
        int securePort = started.securePort();
        Path mesh = dir.resolve("mesh.yaml");
        Files.writeString(mesh, mesh(http));
        Result appliedMesh = cli("apply", "-f", mesh.toString(), "--server", server);
        assertThat(appliedMesh.code()).as(appliedMesh.err()).isZero();
        Path root = dir.resolve("root.pem");
        Files.writeString(root, cli("ca-root", "--server", server).out());

        try (SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
            Sidecar product = proxy(server, securePort, root, "default", "product", new SidecarBootstrap("127.0.0.1",
                securePort, "product-service", Map.of("app", "product"), app.port(), 0, 0, "127.0.0.1", 0));
            Sidecar gateway = proxy(server, securePort, root, "istio-ingress", "ingress", SidecarBootstrap.gateway(
                "127.0.0.1", securePort, "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1", "127.0.0.1", 0))) {
          await().atMost(Duration.ofSeconds(30)).until(() -> call(http, "/warmup").status() == 200);
          await().atMost(Duration.ofSeconds(20)).until(() -> !logs(gateway).isEmpty());

          List<Integer> clientPorts = new ArrayList<>();
          for (int i = 0; i < 5; i++) {
            Call c = call(http, "/items/gw-" + i);
            assertThat(c.status()).isEqualTo(200);
            clientPorts.add(c.localPort());
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(accessLog, "/items/gw-").size() == 10);
          await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
              .until(() -> lines(accessLog, "/items/gw-").size() == 10);
          List<JsonNode> calls = lines(accessLog, "/items/gw-");
          for (int i = 0; i < 5; i++) {
            String path = "/items/gw-" + i;
            List<JsonNode> sides = calls.stream().filter(l -> l.path("path").asText().equals(path)).toList();
            assertThat(sides).as(path).hasSize(2);
            JsonNode atGateway = sides.stream().filter(l -> l.path("upstream_cluster").asText().equals("product-service"))
                .findFirst().orElseThrow(() -> new AssertionError("no gateway line for " + path + ": " + sides));
            JsonNode atBackend = sides.stream().filter(l -> l.path("upstream_cluster").asText().equals("inbound|app"))
                .findFirst().orElseThrow(() -> new AssertionError("no backend line for " + path + ": " + sides));
            assertThat(atGateway.path("downstream_remote_address").asText()).as("the external client's address")
                .isEqualTo("127.0.0.1:" + clientPorts.get(i));
            assertThat(atGateway.path("authority").asText()).isEqualTo("shop.example.com");
            assertThat(atGateway.path("response_code").asText()).isEqualTo("200");
            assertThat(atBackend.path("downstream_peer_uri_san").asText()).as("the gateway called over mesh mTLS")
                .isEqualTo("spiffe://cluster.local/ns/istio-ingress/sa/ingress");
            assertThat(atGateway.path("request_id").asText()).as("one request id at the gateway and the backend")
                .isNotEmpty().isEqualTo(atBackend.path("request_id").asText());
          }

          // The gateway's span and the backend sidecar's in one trace.
          await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            List<OtlpCollector.ReceivedSpan> spans = List.copyOf(collector.spans);
            var gatewayTraces = spans.stream().filter(s -> "ingress.istio-ingress".equals(s.serviceName()))
                .map(OtlpCollector.ReceivedSpan::traceId).toList();
            assertThat(gatewayTraces).as("spans: %s", spans).isNotEmpty();
            assertThat(spans).as("spans: %s", spans).anyMatch(s -> "product-service.default".equals(s.serviceName())
                && gatewayTraces.contains(s.traceId()));
          });

          // explain at the gateway: the route a Host/path takes at one of its ports; a port it does not serve is named.
          Result explained = cli("explain", "--gateway", gateway.nodeId(), "--port", String.valueOf(http), "--to",
              "shop.example.com", "--path", "/items/x", "--server", server);
          assertThat(explained.code()).as(explained.err()).isZero();
          assertThat(explained.out()).contains("route configuration 'http." + http + "'", "result: forwarded",
              "cluster product-service");
          Result unknownHost = cli("explain", "--gateway", gateway.nodeId(), "--port", String.valueOf(http), "--to",
              "other.example.com", "--server", server);
          assertThat(unknownHost.out()).contains("result: 404 (no virtual host)");
          Result wrongPort = cli("explain", "--gateway", gateway.nodeId(), "--port", "1", "--to", "shop.example.com",
              "--server", server);
          assertThat(wrongPort.code()).isNotZero();
          assertThat(wrongPort.err()).contains("serves no HTTP/HTTPS on port 1", "http." + http);
          Result notAGateway = cli("explain", "--gateway", "no-such-proxy", "--port", "80", "--to", "shop.example.com",
              "--server", server);
          assertThat(notAGateway.err()).contains("no gateway proxy 'no-such-proxy' is connected");

          // A Telemetry selecting the gateway's labels turns its log off on the running gateway.
          Path quiet = dir.resolve("quiet.yaml");
          Files.writeString(quiet, """
              apiVersion: telemetry.istio.io/v1
              kind: Telemetry
              metadata: { name: gateway-quiet, namespace: istio-ingress }
              spec:
                selector: { matchLabels: { istio: ingressgateway } }
                accessLogging: [ { disabled: true } ]
              """);
          Result applied = cli("apply", "-f", quiet.toString(), "--server", server);
          assertThat(applied.code()).as(applied.err()).isZero();
          await().atMost(Duration.ofSeconds(15)).until(() -> logs(gateway).isEmpty());
          for (int i = 0; i < 3; i++) {
            assertThat(call(http, "/items/quiet-" + i).status()).isEqualTo(200);
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(accessLog, "/items/quiet-").size() == 3);
          await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
              .until(() -> lines(accessLog, "/items/quiet-").size() == 3);
          assertThat(lines(accessLog, "/items/quiet-")).as("only the backend's inbound side logs")
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

  private static String mesh(int http) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-ingress }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: %d, name: http, protocol: HTTP }
            hosts: [ shop.example.com ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop, namespace: istio-ingress }
        spec:
          hosts: [ shop.example.com ]
          gateways: [ istio-ingress/ingress ]
          http: [ { route: [ { destination: { host: product-service.default.svc.cluster.local } } ] } ]
        """.formatted(http);
  }

  static Sidecar proxy(String server, int securePort, Path root, String namespace, String serviceAccount,
      SidecarBootstrap b) throws Exception {
    Result token = cli("token", "create", "--namespace", namespace, "--service-account", serviceAccount, "--server",
        server);
    assertThat(token.code()).as(token.err()).isZero();
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
        new ControlPlaneCredentials(root, token.out().strip()));
  }

  /** The access logs of every HTTP listener the gateway runs now (its Gateway's servers). */
  static List<io.keelson.dataplane.config.AccessLogConfig> logs(Sidecar gateway) {
    return gateway.server().snapshot().config().listeners().stream()
        .filter(l -> l.http() != null).flatMap(l -> l.http().accessLogs().stream()).toList();
  }

  static List<JsonNode> lines(Path log, String pathPrefix) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    if (!Files.exists(log)) {
      return out;
    }
    for (String line : Files.readAllLines(log)) {
      if (!line.isBlank()) {
        JsonNode l = JSON.readTree(line);
        if (l.path("path").asText().startsWith(pathPrefix)) {
          out.add(l);
        }
      }
    }
    return out;
  }

  /** A response's status and the client's port it was asked from. */
  record Call(int status, int localPort) {}

  static Call call(int port, String path) {
    try (RawHttp http = new RawHttp(port)) {
      int local = http.socket().getLocalPort();
      return new Call(http.send("GET " + path + " HTTP/1.1\r\nHost: shop.example.com\r\n\r\n").read().status(), local);
    } catch (IOException e) {
      return new Call(-1, 0);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }


}
