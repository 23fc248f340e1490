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
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Several Istio {@code protocol: TLS} servers on one gateway port, chosen by SNI: {@code db.example.com} terminated
 * with its own certificate (its own CA) and relayed to one TCP echo, {@code mq.example.com} terminated with another
 * certificate (another CA) to another echo, {@code passthrough.example.com} passed through to a TLS echo that
 * terminates itself (a third CA). Each Java TLS client trusts only its server's CA and checks the certificate's name
 * (endpoint identification), and each reaches its own backend (distinct replies); a name no server has is refused.
 * The certificates reach the gateway over SDS, per chain: a rotated Secret changes its own chain's certificate only,
 * and a connection opened before keeps relaying. The backends are ServiceEntry endpoints on loopback. Also a Gateway
 * API Gateway: two TLS listeners with {@code mode: Terminate} on one port, each with its TCPRoute to its own backend
 * behind a STRICT-mTLS sidecar. Real sockets.
 */
class GatewaySniTerminationTest {
  static final String CLOSED = "closed";

  @Test
  void twoTerminatingServersAndAPassthroughServerShareAPortBySni() throws Exception {
    int port = freePort();
    TestCa dbCa = new TestCa("db-ca");
    TestCa mqCa = new TestCa("mq-ca");
    TestCa passCa = new TestCa("pass-ca");
    TestCa.Leaf db = dbCa.issue("db.example.com", "db.example.com");
    TestCa.Leaf mq = mqCa.issue("mq.example.com", "mq.example.com");
    TestCa.Leaf pass = passCa.issue("passthrough.example.com", "passthrough.example.com");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        NamedEcho dbEcho = new NamedEcho("db", null);
        NamedEcho mqEcho = new NamedEcho("mq", null);
        NamedEcho passEcho = new NamedEcho("pass", pass);
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("sni.yaml", """
          apiVersion: v1
          kind: Secret
          metadata: { name: db-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %2$s, tls.key: %3$s }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: mq-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %4$s, tls.key: %5$s }
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: db-backend }
          spec:
            hosts: [ db.backend.test ]
            location: MESH_EXTERNAL
            resolution: STATIC
            ports: [ { number: 5432, name: tcp, protocol: TCP } ]
            endpoints: [ { address: 127.0.0.1, ports: { tcp: %6$d } } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: mq-backend }
          spec:
            hosts: [ mq.backend.test ]
            location: MESH_EXTERNAL
            resolution: STATIC
            ports: [ { number: 5672, name: tcp, protocol: TCP } ]
            endpoints: [ { address: 127.0.0.1, ports: { tcp: %7$d } } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: pass-backend }
          spec:
            hosts: [ pass.backend.test ]
            location: MESH_EXTERNAL
            resolution: STATIC
            ports: [ { number: 443, name: tls, protocol: TLS } ]
            endpoints: [ { address: 127.0.0.1, ports: { tls: %8$d } } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: ingress, namespace: istio-system }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: %1$d, name: tls-db, protocol: TLS }
              hosts: [ db.example.com ]
              tls: { mode: SIMPLE, credentialName: db-cert }
            - port: { number: %1$d, name: tls-mq, protocol: TLS }
              hosts: [ mq.example.com ]
              tls: { mode: SIMPLE, credentialName: mq-cert }
            - port: { number: %1$d, name: tls-pass, protocol: TLS }
              hosts: [ passthrough.example.com ]
              tls: { mode: PASSTHROUGH }
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: db }
          spec:
            hosts: [ db.example.com ]
            gateways: [ istio-system/ingress ]
            tcp: [ { route: [ { destination: { host: db.backend.test, port: { number: 5432 } } } ] } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: mq }
          spec:
            hosts: [ mq.example.com ]
            gateways: [ istio-system/ingress ]
            tcp: [ { route: [ { destination: { host: mq.backend.test, port: { number: 5672 } } } ] } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: pass }
          spec:
            hosts: [ passthrough.example.com ]
            gateways: [ istio-system/ingress ]
            tls:
            - match: [ { sniHosts: [ passthrough.example.com ] } ]
              route: [ { destination: { host: pass.backend.test, port: { number: 443 } } } ]
          """.formatted(port, b64(db.certPem()), b64(db.keyPem()), b64(mq.certPem()), b64(mq.keyPem()),
          dbEcho.port(), mqEcho.port(), passEcho.port())).policies(), false);

      await().atMost(Duration.ofSeconds(20))
          .until(() -> echo(port, "db.example.com", dbCa.clientContext()).equals("db: world"));
      assertThat(echo(port, "mq.example.com", mqCa.clientContext())).isEqualTo("mq: world");
      assertThat(echo(port, "passthrough.example.com", passCa.clientContext())).as("the backend's own TLS")
          .isEqualTo("pass: world");
      assertThat(subject(port, "mq.example.com", mqCa.clientContext())).isEqualTo("CN=mq.example.com");
      // A client trusting only db's CA does not accept mq's certificate: each name has its own.
      assertThat(echo(port, "mq.example.com", dbCa.clientContext())).isEqualTo(CLOSED);
      assertThat(echo(port, "other.example.com", dbCa.clientContext())).as("no server has this name").isEqualTo(CLOSED);
      assertThat(passEcho.accepted()).as("the gateway relayed the passthrough ClientHello only").isEqualTo(1);

      // SDS per chain: a rotated db-cert changes db's certificate only; a db connection opened before keeps relaying.
      TestCa.Leaf rotated = dbCa.issue("db.example.com", "db.example.com");
      BigInteger mqSerial = serial(port, "mq.example.com", mqCa.clientContext());
      try (SSLSocket before = open(port, "db.example.com", dbCa.clientContext())) {
        cp.store.apply(PolicyParser.parse("rotate.yaml", """
            apiVersion: v1
            kind: Secret
            metadata: { name: db-cert, namespace: istio-system }
            type: kubernetes.io/tls
            data: { tls.crt: %s, tls.key: %s }
            """.formatted(b64(rotated.certPem()), b64(rotated.keyPem()))).policies(), false);
        await().atMost(Duration.ofSeconds(10))
            .until(() -> serial(port, "db.example.com", dbCa.clientContext()).equals(rotated.cert().getSerialNumber()));
        assertThat(serial(port, "mq.example.com", mqCa.clientContext())).as("mq's chain keeps its certificate")
            .isEqualTo(mqSerial).isEqualTo(mq.cert().getSerialNumber());
        assertThat(echo(port, "mq.example.com", mqCa.clientContext())).isEqualTo("mq: world");
        before.getOutputStream().write("again\n".getBytes(StandardCharsets.US_ASCII));
        before.getOutputStream().flush();
        assertThat(line(before.getInputStream())).as("opened before the rotation").isEqualTo("db: again");
      }
    }
  }

  @Test
  void gatewayApiTerminateListenersRelayTheirTcpRoutesEachWithItsOwnCertificate() throws Exception {
    int port = freePort();
    TestCa dbCa = new TestCa("db-ca");
    TestCa mqCa = new TestCa("mq-ca");
    TestCa.Leaf db = dbCa.issue("db.example.com", "db.example.com");
    TestCa.Leaf mq = mqCa.issue("mq.example.com", "mq.example.com");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        NamedEcho dbEcho = new NamedEcho("db", null);
        NamedEcho mqEcho = new NamedEcho("mq", null);
        Sidecar dbSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "db", "db", dbEcho.port());
        Sidecar mqSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "mq", "mq", mqEcho.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "edge", "edge", SidecarBootstrap.gateway("127.0.0.1",
            cp.security.securePort().port(), "edge", Map.of("gateway.networking.k8s.io/gateway-name", "edge"),
            "127.0.0.1", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("edge.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: db }
          spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: mq }
          spec: { ports: [ { name: tcp, port: 5672, protocol: TCP } ] }
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: db-cert, namespace: edge }
          type: kubernetes.io/tls
          data: { tls.crt: %2$s, tls.key: %3$s }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: mq-cert, namespace: edge }
          type: kubernetes.io/tls
          data: { tls.crt: %4$s, tls.key: %5$s }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: edge, namespace: edge }
          spec:
            gatewayClassName: keelson
            listeners:
            - name: db
              port: %1$d
              protocol: TLS
              hostname: db.example.com
              tls: { mode: Terminate, certificateRefs: [ { name: db-cert } ] }
              allowedRoutes: { namespaces: { from: All } }
            - name: mq
              port: %1$d
              protocol: TLS
              hostname: mq.example.com
              tls: { mode: Terminate, certificateRefs: [ { name: mq-cert } ] }
              allowedRoutes: { namespaces: { from: All } }
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TCPRoute
          metadata: { name: db }
          spec:
            parentRefs: [ { name: edge, namespace: edge, sectionName: db } ]
            rules: [ { backendRefs: [ { name: db, port: 5432 } ] } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TCPRoute
          metadata: { name: mq }
          spec:
            parentRefs: [ { name: edge, namespace: edge, sectionName: mq } ]
            rules: [ { backendRefs: [ { name: mq, port: 5672 } ] } ]
          """.formatted(port, b64(db.certPem()), b64(db.keyPem()), b64(mq.certPem()), b64(mq.keyPem())))
          .policies(), false);
      // Terminated at the gateway, then over mesh mTLS to each backend's STRICT sidecar.
      await().atMost(Duration.ofSeconds(20))
          .until(() -> echo(port, "db.example.com", dbCa.clientContext()).equals("db: world"));
      assertThat(echo(port, "mq.example.com", mqCa.clientContext())).isEqualTo("mq: world");
      assertThat(echo(port, "mq.example.com", dbCa.clientContext())).as("mq's certificate is not db's CA's")
          .isEqualTo(CLOSED);
      assertThat(echo(port, "other.example.com", dbCa.clientContext())).as("no listener has this name")
          .isEqualTo(CLOSED);
    }
  }

  private static SSLSocket open(int port, String sni, SSLContext context) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters p = s.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName(sni)));
    p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name sni
    s.setSSLParameters(p);
    s.setSoTimeout(10_000);
    s.startHandshake();
    return s;
  }

  private static BigInteger serial(int port, String sni, SSLContext context) {
    try (SSLSocket s = open(port, sni, context)) {
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    } catch (IOException e) {
      return BigInteger.ZERO;
    }
  }

  private static String subject(int port, String sni, SSLContext context) throws IOException {
    try (SSLSocket s = open(port, sni, context)) {
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }
  }

  /** Sends "world\n" over TLS asking for {@code sni}; the backend's line, or {@link #CLOSED} when refused. */
  static String echo(int port, String sni, SSLContext context) {
    try (SSLSocket s = open(port, sni, context)) {
      s.getOutputStream().write("world\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      return line(s.getInputStream());
    } catch (IOException e) {
      return CLOSED;
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c; (c = in.read()) >= 0; ) {
      if (c == '\n') {
        return b.toString();
      }
      b.append((char) c);
    }
    return CLOSED;
  }

  /** A TCP line echo answering {@code "<name>: <line>"}, over TLS with {@code cert} when given; virtual threads. */
  static final class NamedEcho implements AutoCloseable {
    private final String name;
    private final ServerSocket server;
    private final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();

    NamedEcho(String name, TestCa.Leaf cert) throws Exception {
      this.name = name;
      if (cert == null) {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      } else {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("leaf", cert.key(), new char[0], new X509Certificate[] {cert.cert()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kmf.getKeyManagers(), null, new SecureRandom());
        server = c.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
      }
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
              for (String l; !(l = line(s.getInputStream())).equals(CLOSED); ) {
                s.getOutputStream().write((name + ": " + l + "\n").getBytes(StandardCharsets.US_ASCII));
              }
            } catch (IOException e) {
              // the peer went away
            }
          });
        } catch (IOException e) {
          return; // closed
        }
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
