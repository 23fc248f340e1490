package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keelson proxy --xds ... --gateway} as a real process: the control plane's Istio Gateway and VirtualService
 * program its listener, it routes by Host to the registry's workload, shows in status as a gateway, and drains and
 * exits 0 on SIGTERM.
 */
class GatewayProcessTest {
  @Test
  void aGatewayProcessServesItsGatewaysRoutesAndStopsOnSigterm(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0)) {
      cp.store.apply(PolicyParser.parse("gw.yaml", shop(app.port(), port)).policies(), false);
      Path log = dir.resolve("gateway.log");
      Process gateway = startGateway(cp, log);
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> {
          assertThat(gateway.isAlive()).as("gateway running: %s", Files.readString(log)).isTrue();
          return served(port, "shop.example.com").equals("product-v1");
        });
        assertThat(served(port, "other.example.com")).isEqualTo("status 404");
        assertThat(cp.xds.status()).anySatisfy(s -> {
          assertThat(s.gateway()).isNotNull();
          assertThat(s.gateway().labels()).containsEntry("istio", "ingressgateway");
          assertThat(s.workload()).isNull();
        });
        assertThat(Files.readString(log)).contains("keelson proxy: gateway istio-ingressgateway-")
            .contains("ingress gateway: the listeners of the Gateways selecting {istio=ingressgateway}, on 127.0.0.1");

        // A server on a port the gateway cannot bind: the update is NACKed with the reason (on the response that
        // completes it: RDS, the new listener's route config), the last good listeners keep serving; taking the server
        // away again is ACKed.
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
          String withClash = "  servers: [ { port: { number: %d, name: http, protocol: HTTP }, hosts: [ \"*.example.com\" ] },"
              + " { port: { number: %d, name: clash, protocol: HTTP }, hosts: [ \"*\" ] } ]\n";
          cp.store.apply(PolicyParser.parse("gw.yaml", GATEWAY.formatted(withClash.formatted(port, taken.getLocalPort())))
              .policies(), false);
          await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cp.xds.status().stream().anyMatch(s ->
              s.gateway() != null && s.types().values().stream().anyMatch(t -> t.state().equals("NACK")
                  && t.lastError().contains("cannot bind 127.0.0.1:" + taken.getLocalPort()))))
              .as("status %s; log %s", cp.xds.status(), Files.readString(log)).isTrue());
          assertThat(served(port, "shop.example.com")).isEqualTo("product-v1");
        }
        cp.store.apply(PolicyParser.parse("gw.yaml", GATEWAY.formatted(
            "  servers: [ { port: { number: %d, name: http, protocol: HTTP }, hosts: [ \"*.example.com\" ] } ]\n"
                .formatted(port))).policies(), false);
        await().atMost(Duration.ofSeconds(20)).until(() -> cp.xds.status().stream().anyMatch(s -> s.gateway() != null
            && s.types().values().stream().allMatch(t -> t.state().equals("ACK"))));
      } finally {
        gateway.destroy(); // SIGTERM
      }
      assertThat(gateway.waitFor(20, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
      assertThat(gateway.exitValue()).as(Files.readString(log)).isZero();
    }
  }

  /** A registry Service with one Workload at {@code appPort}, an Istio Gateway on {@code gatewayPort}, a VirtualService. */
  static String shop(int appPort, int gatewayPort) {
    return """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: product-service }
          spec: { ports: [ { name: http, port: 80 } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: product-v1 }
          spec: { service: product-service, address: 127.0.0.1, port: %d }
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: ingress }
          spec:
            selector: { istio: ingressgateway }
            servers: [ { port: { number: %d, name: http, protocol: HTTP }, hosts: [ "*.example.com" ] } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: shop }
          spec:
            hosts: [ shop.example.com ]
            gateways: [ ingress ]
            http: [ { route: [ { destination: { host: product-service } } ] } ]
          """.formatted(appPort, gatewayPort);
  }

  /** {@code keelson proxy --gateway} as a child JVM (labels istio=ingressgateway, on 127.0.0.1), output to {@code log}. */
  static Process startGateway(ControlPlane cp, Path log) throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    return new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName(),
        "proxy", "--xds", "127.0.0.1:" + cp.xds.port(), "--gateway", "--labels", "istio=ingressgateway",
        "--gateway-address", "127.0.0.1", "--admin", "127.0.0.1:0", "--concurrency", "1")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static final String GATEWAY = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress }
      spec:
        selector: { istio: ingressgateway }
      %s""";

  private static String served(int port, String host) {
    try (RawHttp c = new RawHttp(port)) {
      RawHttp.Response r = c.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
      return r.status() == 200 ? r.header("x-served-by") : "status " + r.status();
    } catch (IOException e) {
      return "refused";
    }
  }
}
