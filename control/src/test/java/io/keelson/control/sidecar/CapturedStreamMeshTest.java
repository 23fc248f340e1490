package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.control.sidecar.CapturedMesh.count;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.testkit.Shell.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * TCP and TLS services through captured sidecars end to end ({@link CapturedMesh}'s namespaces, real processes):
 * the client sidecar's {@code 0.0.0.0_<port>} tcp_proxy / SNI listener, mesh mTLS between the sidecars (join tokens:
 * identities, PERMISSIVE by default), the server sidecar's virtualInbound tcp_proxy chain to the app. Shown: a TCP echo
 * service whose connections a VirtualService splits 50/50 between two versions in two pods (both versions answer,
 * each about half, every connection from the server sidecar at 127.0.0.6, over mTLS); two TLS apps sharing port 8443
 * in two pods (each terminating TLS itself with a test certificate the client verifies), reached by SNI: each
 * service's own names (short and {@code .default.svc.cluster.local}), and a VirtualService {@code tls} rule's SNI host routed to the other service;
 * a {@code tcp} rule's {@code destinationSubnets} taking the connections the app dials into its subnet. Skipped, with the reason printed, without root or the tools.
 */
class CapturedStreamMeshTest {
  private static final String ECHO_APP = """
      import socket, sys, threading
      def serve(c, peer):
          f = c.makefile("rwb")
          for line in f:
              f.write((sys.argv[1] + " peer=" + peer[0] + " got=" + line.decode()).encode()); f.flush()
          c.close()
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 7070)); s.listen(64)
      while True:
          c, peer = s.accept(); threading.Thread(target=serve, args=(c, peer), daemon=True).start()
      """;
  private static final String ECHO_CLIENT = """
      import socket
      for i in range(40):
          s = socket.create_connection(("10.77.2.2", 7070), timeout=5)
          s.sendall(("ping %d\\n" % i).encode())
          print("reply:" + s.makefile().readline().strip()); s.close()
      """;
  private static final String TLS_APP = """
      import socket, ssl, sys, threading
      ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2]); me = sys.argv[3]
      names = {}
      def sni(sock, name, _):
          names[id(sock)] = name
      ctx.sni_callback = sni
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 8443)); s.listen(16)
      def serve(c, peer):
          try:
              t = ctx.wrap_socket(c, server_side=True)
              t.sendall((me + " sni=" + str(names.get(id(t))) + " peer=" + peer[0] + "\\n").encode())
              t.close()
          except Exception as e:
              print("handshake failed:", e, flush=True)
      while True:
          c, peer = s.accept(); threading.Thread(target=serve, args=(c, peer), daemon=True).start()
      """;
  private static final String TLS_CLIENT = """
      import socket, ssl, sys
      ctx = ssl.create_default_context(cafile=sys.argv[1])
      for name in sys.argv[2:]:
          # The address does not matter: the client sidecar routes by port and SNI.
          s = ctx.wrap_socket(socket.create_connection(("10.77.2.2", 8443), timeout=5), server_hostname=name)
          print(name + ":" + s.makefile().readline().strip() + " verified=" + str(s.getpeercert() is not None)); s.close()
      """;
  private static final String DB = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec:
        ports: [ { name: tcp-echo, port: 7070 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: db }
      spec:
        host: db
        subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: db }
      spec:
        hosts: [ db ]
        tcp:
        - match: [ { port: 7070 } ]
          route:
          - { destination: { host: db, subset: v1 }, weight: 50 }
          - { destination: { host: db, subset: v2 }, weight: 50 }
      """;
  private static final String WEB = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec:
        ports: [ { name: https, port: 8443, protocol: TLS } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: shop }
      spec:
        ports: [ { name: tls-shop, port: 8443 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: promo }
      spec:
        hosts: [ shop ]
        tls:
        - match: [ { port: 8443, sniHosts: [ promo.example ] } ]
          route: [ { destination: { host: web } } ]
      """;

  /** Connects to each address given, ten times, on port 7070: one reply line per connection. */
  private static final String ADDRESS_CLIENT = """
      import socket, sys
      for addr in sys.argv[1:]:
          for i in range(10):
              s = socket.create_connection((addr, 7070), timeout=5)
              s.sendall(b"ping\\n")
              print(addr + " reply:" + s.makefile().readline().strip()); s.close()
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void tcpDestinationSubnetsRouteConnectionsByTheAddressTheAppDialled() throws Exception {
    m = CapturedMesh.create("CapturedStreamMeshTest");
    m.topology(2);
    // Connections the app sends into 10.77.3.0/24 go to v2; any other address of the port to v1.
    m.control(DB.substring(0, DB.indexOf("  tcp:\n")) + """
          tcp:
          - match: [ { port: 7070, destinationSubnets: [ 10.77.3.0/24 ] } ]
            route: [ { destination: { host: db, subset: v2 } } ]
          - route: [ { destination: { host: db, subset: v1 } } ]
        """);
    startEchoPods();

    Result out = run(in(m.client, appUser(PYTHON, "-c", ADDRESS_CLIENT, "10.77.3.2", "10.77.3.77", "10.77.2.2",
        "10.99.0.1")), 60);
    assertThat(out.exit()).as(out.out() + m.logs()).isZero();
    assertThat(count(out.out(), "10.77.3.2 reply:v2 ")).as("inside the subnet: " + out.out()).isEqualTo(10);
    assertThat(count(out.out(), "10.77.3.77 reply:v2 ")).as("another address of the subnet").isEqualTo(10);
    assertThat(count(out.out(), "10.77.2.2 reply:v1 ")).as("outside it: the rule without subnets").isEqualTo(10);
    assertThat(count(out.out(), "10.99.0.1 reply:v1 ")).as("an address no pod has, same port").isEqualTo(10);
  }

  @Test
  void aWeightedTcpServiceIsReachedThroughBothSidecarsOverMtlsAndSplitBetweenVersions() throws Exception {
    m = CapturedMesh.create("CapturedStreamMeshTest");
    m.topology(2);
    // Every sidecar logs each connection it relays (Istio's accessLogFile), in a format naming both sides.
    Path accessLog = Files.createDirectories(m.dir.resolve("logs")).resolve("access.log");
    m.control(DB, "--access-log-file", accessLog.toString(), "--access-log-format",
        "%UPSTREAM_CLUSTER% %DOWNSTREAM_PEER_URI_SAN% %BYTES_RECEIVED%");
    startEchoPods();

    Result echo = run(in(m.client, appUser(PYTHON, "-c", ECHO_CLIENT)), 60);
    assertThat(echo.exit()).as(echo.out() + m.logs()).isZero();
    assertThat(count(echo.out(), "reply:")).as(echo.out()).isEqualTo(40);
    assertThat(count(echo.out(), "peer=127.0.0.6 got=ping")).as("every connection through the server sidecar: " + echo.out())
        .isEqualTo(40);
    int v1 = count(echo.out(), "reply:v1 ");
    int v2 = count(echo.out(), "reply:v2 ");
    assertThat(v1 + v2).isEqualTo(40);
    // 50/50 over 40 connections: below 8 of one version happens with probability about 1e-5.
    assertThat(v1).as("v1's share of 40: " + echo.out()).isBetween(8, 32);
    assertThat(v2).as("v2's share of 40").isBetween(8, 32);
    assertThat(m.statSum(m.server(0), ".ssl.handshake")).as("v1 sidecar's inbound mTLS handshakes").isPositive();
    assertThat(m.statSum(m.server(1), ".ssl.handshake")).as("v2 sidecar's inbound mTLS handshakes").isPositive();
    // One tcp_proxy access-log line per connection on each side: the client sidecar's names the subset cluster, the
    // server sidecars' the app's cluster and the caller's SPIFFE ID (mesh mTLS).
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
      List<String> lines = Files.exists(accessLog) ? Files.readAllLines(accessLog) : List.of();
      assertThat(lines.stream().filter(l -> l.matches("db\\|v[12] - [78]")).count()).as("client side: " + lines)
          .isEqualTo(40);
      assertThat(lines.stream().filter(l -> l.matches("inbound\\|7070 spiffe://cluster\\.local/ns/default/sa/frontend [78]"))
          .count()).as("server side: " + lines).isEqualTo(40);
    });
  }

  @Test
  void tlsAppsSharingAPortAreReachedBySniThroughBothSidecars() throws Exception {
    m = CapturedMesh.create("CapturedStreamMeshTest", "openssl");
    m.topology(2);
    m.control(WEB);
    m.iptables();
    // A test certificate for both apps (every name the client asks for), readable by the app user.
    Path certs = Files.createDirectories(m.dir.resolve("certs"));
    Result cert = run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=web",
        "-addext", "subjectAltName=DNS:web,DNS:shop,DNS:promo.example,DNS:shop.default.svc.cluster.local", "-keyout", certs.resolve("key.pem").toString(),
        "-out", certs.resolve("cert.pem").toString()), 60);
    assertThat(cert.exit()).as(cert.out()).isZero();
    run(List.of("chmod", "-R", "a+rX", m.dir.toString()), 10);
    String certFile = certs.resolve("cert.pem").toString();
    String keyFile = certs.resolve("key.pem").toString();
    m.start(m.server(0), "web", appUser(PYTHON, "-c", TLS_APP, certFile, keyFile, "web-app"));
    m.start(m.server(1), "shop", appUser(PYTHON, "-c", TLS_APP, certFile, keyFile, "shop-app"));
    Path root = root();
    m.start(m.server(0), "web-sidecar", CapturedMesh.sidecar(m.secureXds(root, "web"), "web", "8443",
        CapturedMesh.serverAddress(0)));
    m.start(m.server(1), "shop-sidecar", CapturedMesh.sidecar(m.secureXds(root, "shop"), "shop", "8443",
        CapturedMesh.serverAddress(1)));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(m.secureXds(root, "frontend"), "frontend", "8000", "10.77.1.2"));
    m.awaitOutput(m.client, "0.0.0.0_8443::0.0.0.0:8443", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    for (int k = 0; k < 2; k++) {
      // An xDS listener (not the bootstrap's): its virtualInbound is the control plane's, with the mTLS chain.
      m.awaitOutput(m.server(k), "0.0.0.0_8000::0.0.0.0:8000", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
      m.awaitOutput(m.client, CapturedMesh.serverAddress(k) + ":8443", "curl", "-s", "http://127.0.0.1:9901/clusters");
    }

    Result tls = run(in(m.client, appUser(PYTHON, "-c", TLS_CLIENT, certFile, "web", "shop", "promo.example",
        "shop.default.svc.cluster.local")), 30);
    assertThat(tls.exit()).as(tls.out() + m.logs()).isZero();
    assertThat(tls.out()).as("the apps' own TLS, verified by the client, through both sidecars, chosen by SNI")
        .contains("web:web-app sni=web peer=127.0.0.6 verified=True")
        .contains("shop:shop-app sni=shop peer=127.0.0.6 verified=True")
        .contains("promo.example:web-app sni=promo.example peer=127.0.0.6 verified=True")
        .as("a service's full DNS name (what its VIP resolves from) is its own SNI name too")
        .contains("shop.default.svc.cluster.local:shop-app sni=shop.default.svc.cluster.local peer=127.0.0.6 verified=True");
    // Inside mesh mTLS: each server sidecar terminated mesh TLS (the apps' TLS passed through inside it).
    assertThat(m.stat(m.client, "cluster.web.upstream_cx_total")).as("client sidecar's connections to web").isEqualTo(2);
    assertThat(m.stat(m.client, "cluster.shop.upstream_cx_total")).as("client sidecar's connections to shop").isEqualTo(2);
    assertThat(m.statSum(m.server(0), ".ssl.handshake")).as("web sidecar's inbound mTLS handshakes").isPositive();
    assertThat(m.statSum(m.server(1), ".ssl.handshake")).as("shop sidecar's inbound mTLS handshakes").isPositive();
  }

  /**
   * iptables, the echo app v1 and v2 in the two server pods with their db sidecars (labels version=v1/v2) and the
   * frontend client's sidecar, once the client knows the port's listener and both endpoints (with their identities, so
   * mTLS) and the servers have the control plane's virtualInbound.
   */
  private void startEchoPods() throws Exception {
    m.iptables();
    m.start(m.server(0), "echo-v1", appUser(PYTHON, "-c", ECHO_APP, "v1"));
    m.start(m.server(1), "echo-v2", appUser(PYTHON, "-c", ECHO_APP, "v2"));
    Path root = root();
    m.start(m.server(0), "db-v1-sidecar", CapturedMesh.sidecar(m.secureXds(root, "db"), "db", "7070",
        CapturedMesh.serverAddress(0), "--labels", "version=v1"));
    m.start(m.server(1), "db-v2-sidecar", CapturedMesh.sidecar(m.secureXds(root, "db"), "db", "7070",
        CapturedMesh.serverAddress(1), "--labels", "version=v2"));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(m.secureXds(root, "frontend"), "frontend", "8000", "10.77.1.2"));
    // Four JVMs starting at once on a loaded machine: allow them time.
    m.awaitOutput(m.client, "0.0.0.0_7070::0.0.0.0:7070", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    for (int k = 0; k < 2; k++) {
      // An xDS listener (not the bootstrap's): its virtualInbound is the control plane's, with the mTLS chain.
      m.awaitOutput(m.server(k), "0.0.0.0_8000::0.0.0.0:8000", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
      m.awaitOutput(m.client, CapturedMesh.serverAddress(k) + ":7070", 60, "curl", "-s", "http://127.0.0.1:9901/clusters");
    }
  }

  /** The control plane's root certificate in a file, once its API answers. */
  private Path root() throws Exception {
    Path root = m.dir.resolve("root.pem");
    Files.writeString(root, m.awaitRootPem());
    return root;
  }
}
