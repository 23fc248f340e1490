package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.GatewaySniTerminationTest.CLOSED;
import static io.keelson.control.sidecar.GatewaySniTerminationTest.echo;
import static io.keelson.control.sidecar.IngressGatewayTest.b64;
import static io.keelson.control.sidecar.IngressGatewayTest.curl;
import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestCa;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One gateway port with an HTTPS server, a terminating TLS server and a PASSTHROUGH server (istiod's shape: HTTP
 * connection manager chains beside tcp_proxy chains, each chosen by the ClientHello's server name), each with its own
 * certificate over SDS: curl reaches the HTTPS server's HTTP backend through {@code --resolve}, Java TLS clients the
 * terminated and passed-through echoes, and openssl s_client shows which certificate each name gets (its subject); an
 * exact name beats the HTTPS server's {@code *.example.com}; a client sending no SNI is refused (no chain without
 * server_names); a rotated Secret changes its own chain's certificate only; a DENY AuthorizationPolicy on the gateway
 * reaches every chain. Also the Gateway API: TLSRoutes on a {@code Terminate} listener, each relayed to its backend by
 * its hostnames, beside an HTTPS listener on the same port; the listener takes them by {@code from: Selector} on the
 * labels of their Namespace document. Real processes (curl, openssl) and sockets.
 */
class GatewayMixedTlsPortTest {
  @TempDir Path dir;

  @Test
  void httpsTerminatingAndPassthroughServersShareOnePortBySni() throws Exception {
    int port = freePort();
    TestCa webCa = new TestCa("web-ca");
    TestCa dbCa = new TestCa("db-ca");
    TestCa passCa = new TestCa("pass-ca");
    TestCa.Leaf web = webCa.issue("wild.example.com", "*.example.com");
    TestCa.Leaf db = dbCa.issue("db.example.com", "db.example.com");
    TestCa.Leaf pass = passCa.issue("pass.example.com", "pass.example.com");
    Path webCaFile = webCa.write(dir, "web-ca.pem");
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", x -> {
      byte[] body = ("web saw " + x.getRequestHeaders().getFirst("Host") + "\n").getBytes(StandardCharsets.US_ASCII);
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    app.start();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        GatewaySniTerminationTest.NamedEcho dbEcho = new GatewaySniTerminationTest.NamedEcho("db", null);
        GatewaySniTerminationTest.NamedEcho passEcho = new GatewaySniTerminationTest.NamedEcho("pass", pass);
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("mixed.yaml", """
          apiVersion: v1
          kind: Secret
          metadata: { name: web-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %2$s, tls.key: %3$s }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: db-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %4$s, tls.key: %5$s }
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: web-backend }
          spec:
            hosts: [ web.backend.test ]
            location: MESH_EXTERNAL
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP } ]
            endpoints: [ { address: 127.0.0.1, ports: { http: %6$d } } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: db-backend }
          spec:
            hosts: [ db.backend.test ]
            location: MESH_EXTERNAL
            resolution: STATIC
            ports: [ { number: 5432, name: tcp, protocol: TCP } ]
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
            - port: { number: %1$d, name: https, protocol: HTTPS }
              hosts: [ "*.example.com" ]
              tls: { mode: SIMPLE, credentialName: web-cert }
            - port: { number: %1$d, name: tls-db, protocol: TLS }
              hosts: [ db.example.com ]
              tls: { mode: SIMPLE, credentialName: db-cert }
            - port: { number: %1$d, name: tls-pass, protocol: TLS }
              hosts: [ pass.example.com ]
              tls: { mode: PASSTHROUGH }
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: web }
          spec:
            hosts: [ "*.example.com" ]
            gateways: [ istio-system/ingress ]
            http: [ { route: [ { destination: { host: web.backend.test, port: { number: 80 } } } ] } ]
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
          metadata: { name: pass }
          spec:
            hosts: [ pass.example.com ]
            gateways: [ istio-system/ingress ]
            tls:
            - match: [ { sniHosts: [ pass.example.com ] } ]
              route: [ { destination: { host: pass.backend.test, port: { number: 443 } } } ]
          """.formatted(port, b64(web.certPem()), b64(web.keyPem()), b64(db.certPem()), b64(db.keyPem()),
          app.getAddress().getPort(), dbEcho.port(), passEcho.port())).policies(), false);

      await().atMost(Duration.ofSeconds(20))
          .until(() -> echo(port, "db.example.com", dbCa.clientContext()).equals("db: world"));
      // HTTPS: curl resolves the name to the gateway, sends it as SNI and trusts only web's CA.
      var shop = curl("--resolve", "shop.example.com:" + port + ":127.0.0.1", "--cacert", webCaFile.toString(),
          "https://shop.example.com:" + port + "/");
      assertThat(shop.exit()).as(shop.err()).isZero();
      assertThat(shop.out()).startsWith("HTTP/").contains("web saw shop.example.com");
      // The terminated TLS server and the passthrough one, each with its own backend and certificate.
      assertThat(echo(port, "pass.example.com", passCa.clientContext())).as("the backend's own TLS")
          .isEqualTo("pass: world");
      assertThat(subject(port, "shop.example.com")).contains("CN=wild.example.com").contains("web-ca");
      assertThat(subject(port, "db.example.com")).as("exact db.example.com beats the HTTPS *.example.com")
          .contains("CN=db.example.com").contains("db-ca");
      assertThat(subject(port, "pass.example.com")).as("passed through: the backend's certificate")
          .contains("CN=pass.example.com").contains("pass-ca");
      assertThat(subject(port, null)).as("no SNI: no chain without server_names").isEqualTo(CLOSED);
      assertThat(subject(port, "other.test")).as("a name no server has").isEqualTo(CLOSED);

      // SDS per chain: a rotated db-cert changes db's certificate only.
      TestCa.Leaf rotated = dbCa.issue("db2.example.com", "db.example.com");
      cp.store.apply(PolicyParser.parse("rotate.yaml", """
          apiVersion: v1
          kind: Secret
          metadata: { name: db-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %s, tls.key: %s }
          """.formatted(b64(rotated.certPem()), b64(rotated.keyPem()))).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> subject(port, "db.example.com").contains("CN=db2.example.com"));
      assertThat(subject(port, "shop.example.com")).as("the HTTPS chain keeps its certificate")
          .contains("CN=wild.example.com");
      assertThat(echo(port, "db.example.com", dbCa.clientContext())).isEqualTo("db: world");
      assertThat(curl("--resolve", "shop.example.com:" + port + ":127.0.0.1", "--cacert", webCaFile.toString(),
          "https://shop.example.com:" + port + "/").out()).contains("web saw shop.example.com");

      // GatewayPolicies: a DENY policy selecting the gateway reaches the HCM chain and both tcp_proxy chains.
      cp.store.apply(PolicyParser.parse("deny.yaml", """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: deny-loopback, namespace: istio-system }
          spec:
            selector: { matchLabels: { istio: ingressgateway } }
            action: DENY
            rules: [ { from: [ { source: { ipBlocks: [ 127.0.0.1/32 ] } } ] } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> echo(port, "db.example.com", dbCa.clientContext())
          .equals(CLOSED));
      assertThat(echo(port, "pass.example.com", passCa.clientContext())).isEqualTo(CLOSED);
      assertThat(curl("--resolve", "shop.example.com:" + port + ":127.0.0.1", "--cacert", webCaFile.toString(),
          "https://shop.example.com:" + port + "/").out()).startsWith("HTTP/").contains(" 403");
    } finally {
      app.stop(0);
    }
  }

  @Test
  void gatewayApiTlsRoutesOnATerminateListenerBesideAnHttpsListener() throws Exception {
    int port = freePort();
    TestCa ca = new TestCa("edge-ca");
    TestCa.Leaf tcpCert = ca.issue("tcp.example.com", "*.tcp.example.com");
    TestCa.Leaf webCert = ca.issue("web.example.com", "web.example.com");
    Path caFile = ca.write(dir, "edge-ca.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        GatewaySniTerminationTest.NamedEcho dbEcho = new GatewaySniTerminationTest.NamedEcho("db", null);
        GatewaySniTerminationTest.NamedEcho mqEcho = new GatewaySniTerminationTest.NamedEcho("mq", null);
        Sidecar dbSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "db", "db", dbEcho.port());
        Sidecar mqSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "mq", "mq", mqEcho.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "edge", "edge", SidecarBootstrap.gateway("127.0.0.1",
            cp.security.securePort().port(), "edge", Map.of("gateway.networking.k8s.io/gateway-name", "edge"),
            "127.0.0.1", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("edge.yaml", """
          apiVersion: v1
          kind: Namespace
          metadata: { name: default, labels: { gateway-access: edge } }
          ---
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
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: web }
          spec: { ports: [ { name: http, port: 80, protocol: HTTP } ] }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: tcp-cert, namespace: edge }
          type: kubernetes.io/tls
          data: { tls.crt: %2$s, tls.key: %3$s }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: web-cert, namespace: edge }
          type: kubernetes.io/tls
          data: { tls.crt: %4$s, tls.key: %5$s }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: edge, namespace: edge }
          spec:
            gatewayClassName: keelson
            listeners:
            - name: tcp
              port: %1$d
              protocol: TLS
              hostname: "*.tcp.example.com"
              tls: { mode: Terminate, certificateRefs: [ { name: tcp-cert } ] }
              allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { gateway-access: edge } } } }
            - name: web
              port: %1$d
              protocol: HTTPS
              hostname: web.example.com
              tls: { mode: Terminate, certificateRefs: [ { name: web-cert } ] }
              allowedRoutes: { namespaces: { from: All } }
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TLSRoute
          metadata: { name: db }
          spec:
            parentRefs: [ { name: edge, namespace: edge, sectionName: tcp } ]
            hostnames: [ db.tcp.example.com ]
            rules: [ { backendRefs: [ { name: db, port: 5432 } ] } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TLSRoute
          metadata: { name: mq }
          spec:
            parentRefs: [ { name: edge, namespace: edge, sectionName: tcp } ]
            hostnames: [ mq.tcp.example.com ]
            rules: [ { backendRefs: [ { name: mq, port: 5672 } ] } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: { name: web }
          spec:
            parentRefs: [ { name: edge, namespace: edge, sectionName: web } ]
            rules: [ { backendRefs: [ { name: web, port: 80 } ] } ]
          """.formatted(port, b64(tcpCert.certPem()), b64(tcpCert.keyPem()), b64(webCert.certPem()),
          b64(webCert.keyPem()))).policies(), false);
      // Terminated with the listener's certificate, then relayed to the TLSRoute's backend (chosen by its hostnames)
      // over mesh mTLS to the backend's sidecar.
      await().atMost(Duration.ofSeconds(20))
          .until(() -> echo(port, "db.tcp.example.com", ca.clientContext()).equals("db: world"));
      assertThat(echo(port, "mq.tcp.example.com", ca.clientContext())).isEqualTo("mq: world");
      assertThat(echo(port, "x.tcp.example.com", ca.clientContext())).as("no TLSRoute has this name")
          .isEqualTo(CLOSED);
      assertThat(subject(port, "db.tcp.example.com")).contains("CN=tcp.example.com");
      // The HTTPS listener on the same port: its own certificate and connection manager (the Service has no
      // endpoints: the gateway's own 503, an HTTP answer over TLS).
      assertThat(subject(port, "web.example.com")).contains("CN=web.example.com");
      var web = curl("--resolve", "web.example.com:" + port + ":127.0.0.1", "--cacert", caFile.toString(),
          "https://web.example.com:" + port + "/");
      assertThat(web.exit()).as(web.err()).isZero();
      assertThat(web.out()).startsWith("HTTP/").contains(" 503");
      // from: Selector: the TLSRoutes (namespace default) attach because that Namespace has the label; relabelling it
      // would leave them on no listener, which the store refuses whole.
      assertThatThrownBy(() -> cp.store.apply(PolicyParser.parse("relabel.yaml", """
          apiVersion: v1
          kind: Namespace
          metadata: { name: default, labels: { gateway-access: none } }
          """).policies(), false)).hasMessageContaining("takes routes of namespaces labelled {gateway-access=edge}"
              + " only (allowedRoutes namespaces from: Selector), and namespace default is labelled"
              + " {gateway-access=none, kubernetes.io/metadata.name=default}");
      assertThat(echo(port, "db.tcp.example.com", ca.clientContext())).isEqualTo("db: world");
    }
  }

  /**
   * The subject and issuer openssl s_client prints for the certificate the gateway presents to a ClientHello naming
   * {@code sni} (null: none), or {@link GatewaySniTerminationTest#CLOSED} when the handshake fails.
   */
  static String subject(int port, String sni) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
    if (sni == null) {
      cmd.add("-noservername");
    } else {
      cmd.addAll(List.of("-servername", sni));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close(); // no input: s_client ends after the handshake
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    return out.lines().filter(l -> l.startsWith("subject=") || l.startsWith("issuer=")).reduce((a, b) -> a + " " + b)
        .map(l -> l.replace(" = ", "=")).orElse(CLOSED); // OpenSSL 3 writes "CN = x"
  }
}
