package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.server.ProxyOptions;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's {@code connectionPool.tcp.idleTimeout} over the wire: a Gateway API gateway's TCP listener relays
 * to a TCP echo (a registry Service, a workload without a sidecar) with the rule's 1s idle timeout on its tcp_proxy.
 * A connection that sends nothing is closed by the proxy after about a second; one that keeps talking past that
 * stays open and keeps being echoed.
 */
class TcpIdleTimeoutEndToEndTest {
  @Test
  void anIdleProxiedConnectionIsClosedAndAnActiveOneIsNot() throws Exception {
    int tcp = IngressGatewayTest.freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar gateway = Sidecar.start(SidecarBootstrap.gateway("127.0.0.1", cp.xds.port(), "edge",
            Map.of("gateway.networking.k8s.io/gateway-name", "edge"), "127.0.0.1", "127.0.0.1", 0),
            ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500))) {
      cp.store.apply(PolicyParser.parse("edge.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: tcp-echo }
          spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: tcp-echo-1 }
          spec: { service: tcp-echo, address: 127.0.0.1, port: %2$d }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: edge }
          spec:
            gatewayClassName: keelson
            listeners: [ { name: tcp, port: %1$d, protocol: TCP } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TCPRoute
          metadata: { name: echo }
          spec:
            parentRefs: [ { name: edge, sectionName: tcp } ]
            rules: [ { backendRefs: [ { name: tcp-echo, port: 9000 } ] } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: tcp-echo }
          spec:
            host: tcp-echo
            trafficPolicy: { connectionPool: { tcp: { idleTimeout: 1s } } }
          """.formatted(tcp, echo.port())).policies(), false);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));

      try (Socket idle = new Socket("127.0.0.1", tcp); Socket active = new Socket("127.0.0.1", tcp)) {
        idle.setSoTimeout(5_000);
        active.setSoTimeout(5_000);
        assertThat(exchange(idle, "first")).isEqualTo("hello first");
        long quietSince = System.nanoTime();
        // The active connection talks every 300 ms for 3 s, well past the 1 s idle timeout.
        for (int i = 0; i < 10; i++) {
          assertThat(exchange(active, "line " + i)).as("the active connection, exchange %d", i)
              .isEqualTo("hello line " + i);
          Thread.sleep(300);
        }
        // The idle one was closed by the proxy meanwhile: end of stream, no echo.
        assertThat(idle.getInputStream().read()).as("the idle connection is closed").isEqualTo(-1);
        assertThat(Duration.ofNanos(System.nanoTime() - quietSince)).isGreaterThan(Duration.ofMillis(900));
        assertThat(exchange(active, "still")).isEqualTo("hello still");
      }
    }
  }

  /** Writes one line and reads the echo's answer line; null when the connection ended first. */
  private static String exchange(Socket s, String line) throws Exception {
    s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    StringBuilder b = new StringBuilder();
    try {
      for (int c; (c = in.read()) >= 0; ) {
        if (c == '\n') {
          return b.toString();
        }
        b.append((char) c);
      }
    } catch (SocketTimeoutException e) {
      return "timed out: " + b;
    }
    return null;
  }
}
