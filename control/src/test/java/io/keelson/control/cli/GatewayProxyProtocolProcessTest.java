package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.api.MeshConfigFile;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.HaproxyProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An ingress gateway process behind a HAProxy that sends PROXY protocol v2, programmed by a control plane whose mesh
 * config says {@code defaultConfig.gatewayTopology.proxyProtocol: {}}: the gateway's listener reads the header, so the
 * backend (a HAProxy answering with the x-forwarded-for it got) sees the curl client (127.0.0.5), not the balancer
 * (127.0.0.9); a client that connects to the gateway without a header is closed.
 */
class GatewayProxyProtocolProcessTest {
  @Test
  void theGatewaySeesTheClientBehindAProxyProtocolBalancer(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(HaproxyProcess.available(), "haproxy is not installed");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    MeshConfigFile mesh = MeshConfigFile.parse("mesh.yaml", "defaultConfig:\n  gatewayTopology:\n    proxyProtocol: {}\n");
    try (HaproxyProcess app = new HaproxyProcess("""
            frontend app
              mode http
              bind 127.0.0.1:%PORT%
              http-request return status 200 content-type text/plain lf-string "xff=%[req.hdr(x-forwarded-for)]"
            """);
        HaproxyProcess lb = new HaproxyProcess("""
            listen lb
              bind 127.0.0.1:%%PORT%%
              server gateway 127.0.0.1:%d send-proxy-v2 source 127.0.0.9
            """.formatted(port));
        ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001)
            .withGatewayProxyProtocol(mesh.gatewayProxyProtocol()))) {
      cp.store.apply(PolicyParser.parse("gw.yaml", GatewayProcessTest.shop(app.port(), port)).policies(), false);
      Path log = dir.resolve("gateway.log");
      Process gateway = GatewayProcessTest.startGateway(cp, log);
      try {
        String url = "http://127.0.0.1:" + lb.port() + "/";
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
          assertThat(gateway.isAlive()).as("gateway running: %s", Files.readString(log)).isTrue();
          assertThat(curl("--interface", "127.0.0.5", "-H", "Host: shop.example.com", url)).isEqualTo("xff=127.0.0.5");
        });
        String direct = curl("-H", "Host: shop.example.com", "http://127.0.0.1:" + port + "/");
        assertThat(direct).as("no PROXY header: closed").startsWith("curl: (52)");
      } finally {
        gateway.destroy();
        gateway.waitFor(20, TimeUnit.SECONDS);
      }
    }
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "5"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    p.waitFor(10, TimeUnit.SECONDS);
    return out;
  }
}
