package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IngressGatewayTest.b64;
import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestCa;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Istio {@code protocol: TLS} gateway servers that terminate: {@code tls.mode: SIMPLE} ends the client's TLS with the
 * Secret's certificate (over SDS) and relays the plaintext by the VirtualService's {@code tcp} route to a TCP echo
 * behind a STRICT-mTLS sidecar; {@code MUTUAL} also requires a client certificate from the Secret's {@code ca.crt}
 * (a Java TLS client with and without one; real sockets throughout).
 */
class GatewayTlsTerminationTest {
  @Test
  void tlsServersTerminateAndRelayThePlaintextByTcpRoutes() throws Exception {
    int simple = freePort();
    int mutual = freePort();
    TestCa ca = new TestCa("edge-ca");
    TestCa.Leaf cert = ca.issue("echo.example.com", "echo.example.com");
    TestCa.Leaf client = ca.issue("client");
    TestCa stranger = new TestCa("stranger-ca");
    TestCa.Leaf strangerClient = stranger.issue("client");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echoSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", echo.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("edge.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: tcp-echo }
          spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: shop }
          spec: { mtls: { mode: STRICT } }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: echo-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %3$s, tls.key: %4$s, ca.crt: %5$s }
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: ingress, namespace: istio-system }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: %1$d, name: tls-simple, protocol: TLS }
              hosts: [ "echo.example.com" ]
              tls: { mode: SIMPLE, credentialName: echo-cert }
            - port: { number: %2$d, name: tls-mutual, protocol: TLS }
              hosts: [ "echo.example.com" ]
              tls: { mode: MUTUAL, credentialName: echo-cert }
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: echo }
          spec:
            hosts: [ "echo.example.com" ]
            gateways: [ istio-system/ingress ]
            tcp:
            - match: [ { port: %1$d } ]
              route: [ { destination: { host: tcp-echo } } ]
            - match: [ { port: %2$d } ]
              route: [ { destination: { host: tcp-echo } } ]
          """.formatted(simple, mutual, b64(cert.certPem()), b64(cert.keyPem()), b64(ca.certPem()))).policies(), false);

      // SIMPLE: TLS ends at the gateway with the Secret's certificate; the echo answers the plaintext.
      await().atMost(Duration.ofSeconds(20)).until(() -> echo(simple, ca.clientContext()).equals("hello world"));
      try (SSLSocket s = open(simple, ca.clientContext())) {
        assertThat(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber())
            .isEqualTo(cert.cert().getSerialNumber());
        assertThat(s.getApplicationProtocol()).as("no ALPN on a TCP relay").isEmpty();
      }
      // MUTUAL: a client certificate from the Secret's CA gets through; none, or another CA's, does not.
      await().atMost(Duration.ofSeconds(10)).until(() -> echo(mutual, client.clientContext(ca)).equals("hello world"));
      assertThat(echo(mutual, ca.clientContext())).isEqualTo(CLOSED);
      assertThat(echo(mutual, strangerClient.clientContext(ca))).isEqualTo(CLOSED);
    }
  }

  static final String CLOSED = "closed";

  static SSLSocket open(int port, SSLContext context) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters p = s.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName("echo.example.com")));
    s.setSSLParameters(p);
    s.setSoTimeout(10_000);
    s.startHandshake();
    return s;
  }

  /** Sends "world\n" over TLS and returns the echo's line, or {@link #CLOSED} when the handshake or relay fails. */
  static String echo(int port, SSLContext context) {
    try (SSLSocket s = open(port, context)) {
      s.getOutputStream().write("world\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      StringBuilder b = new StringBuilder();
      for (int c; (c = in.read()) >= 0; ) {
        if (c == '\n') {
          return b.toString();
        }
        b.append((char) c);
      }
      return CLOSED;
    } catch (IOException e) {
      return CLOSED;
    }
  }
}
