package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.svid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.MeshCa;
import io.keelson.control.ca.Pem;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.security.MeshTls;
import io.keelson.dataplane.security.StaticCertificateSource;
import io.keelson.dataplane.server.ProxyOptions;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy on a sidecar whose app speaks raw TCP: the control plane puts the TCP variant of
 * the workload's policies ({@code envoy.filters.network.rbac}, DENY before ALLOW) in front of the
 * inbound tcp_proxy; a denied identity's connection is closed, an allowed one reaches the app. HTTP-only
 * fields follow Istio: an ALLOW rule using them never matches a TCP connection, a DENY rule loses them.
 */
class SidecarTcpAuthorizationTest {

  @Test
  void tcpPoliciesCloseDeniedIdentitiesAndRelayAllowedOnes() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        TcpEcho app = new TcpEcho();
        Sidecar echo = tcpSidecar(cp, "tcp-echo", "echo", app.port())) {
      // PERMISSIVE (the default): mTLS or plaintext on one port.
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        ListenerConfig in = inbound(echo);
        assertThat(in != null && in.tcpProxy() != null && in.tls() != null && in.plaintextToo())
            .as("inbound %s; xDS %s", in, echo.xds().stats()).isTrue();
      });
      int inbound = echo.inboundAddress().getPort();
      MeshCa ca = cp.security.ca();
      CertificateSource web = new StaticCertificateSource(svid(ca, ca.identity("default", "web")), ca.roots());
      CertificateSource tester = new StaticCertificateSource(svid(ca, ca.identity("default", "tester")), ca.roots());
      CertificateSource blocked = new StaticCertificateSource(svid(ca, ca.identity("default", "blocked")), ca.roots());
      assertThat(plaintext(inbound)).isEqualTo("hello world");
      // No policy yet: every mesh identity reaches the app.
      assertThat(exchange(inbound, tester)).isEqualTo("hello world");

      cp.store.apply(PolicyParser.parse("authz.yaml", """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: echo-callers, namespace: default }
          spec:
            action: ALLOW
            rules:
            - from: [ { source: { principals: [ "cluster.local/ns/default/sa/web", "cluster.local/ns/default/sa/blocked" ] } } ]
            # HTTP-only: would let anyone GET over HTTP; never matches a TCP connection.
            - to: [ { operation: { methods: [ GET ] } } ]
          ---
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: no-admin, namespace: default }
          spec:
            action: DENY
            rules:
            # On TCP the path is dropped, so the DENY covers every connection from sa/blocked.
            - from: [ { source: { principals: [ "cluster.local/ns/default/sa/blocked" ] } } ]
              to: [ { operation: { paths: [ "/admin" ] } } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> exchange(inbound, tester).equals(CLOSED));

      int before = app.accepted();
      assertThat(exchange(inbound, web)).as("allowed principal").isEqualTo("hello world");
      assertThat(exchange(inbound, tester)).as("not an allowed principal; the HTTP-only ALLOW rule does not apply")
          .isEqualTo(CLOSED);
      assertThat(exchange(inbound, blocked)).as("DENY (paths dropped for TCP) before ALLOW").isEqualTo(CLOSED);
      assertThat(plaintext(inbound)).as("plaintext has no principal").isEqualTo(CLOSED);
      assertThat(app.accepted() - before).as("denied connections never reach the app").isEqualTo(1);

      // STRICT: one mTLS chain; the same policies.
      cp.store.apply(PolicyParser.parse("strict.yaml", """
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> !inbound(echo).plaintextToo());
      assertThat(exchange(inbound, web)).isEqualTo("hello world");
      assertThat(exchange(inbound, tester)).isEqualTo(CLOSED);
      assertThat(plaintext(inbound)).isEqualTo(CLOSED);

      var listener = cp.xds.resourcesFor(echo.nodeId()).listeners().stream()
          .filter(l -> l.getName().equals("inbound")).findFirst().orElseThrow();
      assertThat(listener.getFilterChains(0).getFiltersList()).extracting(f -> f.getName())
          .containsExactly("istio.metadata_exchange", "envoy.filters.network.rbac", "envoy.filters.network.rbac",
              "envoy.filters.network.tcp_proxy");
    }
  }

  static final String CLOSED = "closed";

  static Sidecar tcpSidecar(ControlPlane cp, String service, String serviceAccount, int appPort) throws Exception {
    Path root = Files.createTempFile("root", ".pem");
    Files.writeString(root, Pem.encode(cp.security.ca().roots().getFirst()));
    root.toFile().deleteOnExit();
    String token = cp.security.tokens().create("default", serviceAccount, null).token();
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.security.securePort().port(), service, Map.of(), appPort,
        0, 0, "127.0.0.1", 0, true);
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
        new ControlPlaneCredentials(root, token));
  }

  static ListenerConfig inbound(Sidecar s) {
    return s.server().snapshot().config().listeners().stream().filter(l -> l.name().equals("inbound")).findFirst()
        .orElse(null);
  }

  /** "world" over mTLS as {@code client}: the app's answer, or {@link #CLOSED} when the connection is closed first. */
  static String exchange(int port, CertificateSource client) {
    try (SSLSocket s = (SSLSocket) ((JdkSslContext) MeshTls.client(client, null, SslProvider.JDK)).context()
        .getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      s.getOutputStream().write("world\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String line = readLine(s.getInputStream());
      return line == null ? CLOSED : line;
    } catch (IOException e) {
      return CLOSED;
    } catch (Exception e) {
      return "failed: " + e;
    }
  }

  /** "world" in plaintext: the app's answer, or {@link #CLOSED}. */
  static String plaintext(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("world\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String line = readLine(s.getInputStream());
      return line == null ? CLOSED : line;
    } catch (IOException e) {
      return CLOSED;
    }
  }

  /** One line (without its LF) read byte by byte, or null at the end of the stream. */
  static String readLine(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c; (c = in.read()) >= 0; ) {
      if (c == '\n') {
        return b.toString();
      }
      b.append((char) c);
    }
    return null;
  }

  /** A TCP app answering each line with "hello " + the line; counts the connections it accepted. */
  static final class TcpEcho implements AutoCloseable {
    private final ServerSocket server;
    private final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();

    TcpEcho() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread.ofVirtual().start(this::serve);
    }

    int port() {
      return server.getLocalPort();
    }

    int accepted() {
      return accepted.get();
    }

    private void serve() {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          accepted.incrementAndGet();
          Thread.ofVirtual().start(() -> {
            try (s) {
              s.setSoTimeout(10_000);
              for (String line; (line = readLine(s.getInputStream())) != null; ) {
                s.getOutputStream().write(("hello " + line + "\n").getBytes(StandardCharsets.US_ASCII));
              }
            } catch (IOException e) {
              // the peer went away
            }
          });
        } catch (IOException e) {
          // closing
        }
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
