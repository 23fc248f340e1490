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
 * (a Java TLS client with and without one; real sockets throughout); {@code ISTIO_MUTUAL} presents the gateway's own
 * mesh certificate and admits only clients with a mesh certificate.
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
          metadata: { name: default, namespace: default }
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

  @Test
  void istioMutualServersPresentTheGatewaysMeshCertificateAndRequireAMeshClient() throws Exception {
    int tls = freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echoSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", echo.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("east-west.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: tcp-echo }
          spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: east-west, namespace: istio-system }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: %1$d, name: tls-mesh, protocol: TLS }
              hosts: [ "*" ]
              tls: { mode: ISTIO_MUTUAL }
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: echo }
          spec:
            hosts: [ "*" ]
            gateways: [ istio-system/east-west ]
            tcp:
            - route: [ { destination: { host: tcp-echo } } ]
          """.formatted(tls)).policies(), false);

      var ca = cp.security.ca();
      SSLContext meshClient = context(SidecarMtlsTest.svid(ca, ca.identity("default", "tester")), ca.roots());
      await().atMost(Duration.ofSeconds(20)).until(() -> echo(tls, meshClient).equals("hello world"));
      try (SSLSocket s = open(tls, meshClient)) {
        X509Certificate served = (X509Certificate) s.getSession().getPeerCertificates()[0];
        assertThat(io.keelson.dataplane.security.PeerIdentity.spiffeUri(served))
            .as("the gateway's own mesh certificate").isEqualTo(IngressGatewayTest.GATEWAY_ID);
      }
      // No client certificate, or one from another CA: refused.
      assertThat(echo(tls, context(null, ca.roots()))).isEqualTo(CLOSED);
      TestCa stranger = new TestCa("stranger-ca");
      assertThat(echo(tls, strangerContext(stranger, ca.roots()))).isEqualTo(CLOSED);
    }
  }

  /** A client context presenting {@code cert} (null: none) and trusting {@code roots}. */
  private static SSLContext context(io.keelson.dataplane.security.WorkloadCertificate cert, List<X509Certificate> roots)
      throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    for (int i = 0; i < roots.size(); i++) {
      trust.setCertificateEntry("root" + i, roots.get(i));
    }
    var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.KeyManager[] keys = null;
    if (cert != null) {
      java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("leaf", cert.key(), new char[0], cert.chain().toArray(X509Certificate[]::new));
      var kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      keys = kmf.getKeyManagers();
    }
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(keys, tmf.getTrustManagers(), new java.security.SecureRandom());
    return c;
  }

  /** A client presenting a certificate of {@code stranger} (not the mesh CA), trusting the mesh {@code roots}. */
  private static SSLContext strangerContext(TestCa stranger, List<X509Certificate> roots) throws Exception {
    TestCa.Leaf leaf = stranger.issue("tester");
    return context(new io.keelson.dataplane.security.WorkloadCertificate(leaf.key(), List.of(leaf.cert())), roots);
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
