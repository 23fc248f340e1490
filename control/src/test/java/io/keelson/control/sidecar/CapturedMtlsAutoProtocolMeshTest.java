package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.testkit.Shell.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Ports with no declared protocol between captured sidecars WITH identities (mesh mTLS), end to end ({@link CapturedMesh}'s
 * namespaces, real processes): the client sidecar detects HTTP by the app's first bytes and offers ALPN
 * {@code istio-http/1.1} on its mTLS connection for HTTP, {@code istio} for TCP; the server sidecar's virtualInbound picks
 * its HTTP or TCP chain by that ALPN (Istio's inbound shape). Shown under STRICT: curl to a service whose port has no
 * name nor protocol gets its VirtualService's header route and its AuthorizationPolicy's path DENY (HTTP RBAC on the mTLS
 * HTTP chain), the app sees the caller's SPIFFE ID; a raw TCP client of a server-first app (a greeting, then a binary
 * echo) is relayed over mTLS by the TCP chain (the client sidecar's detection timeout from {@code --mesh-config}'s
 * {@code protocolDetectionTimeout}), and a DENY on the caller's principal then refuses it (network RBAC on the TCP
 * chain); plaintext from outside the mesh is refused. Under PERMISSIVE, plaintext from outside the mesh is served on
 * the same port as HTTP and as TCP, and a ServiceEntry's ports without protocol are detected too (HTTP by Host, TCP to
 * the entry's endpoint). Skipped, with the reason printed, without root or the tools.
 */
class CapturedMtlsAutoProtocolMeshTest {
  private static final String ECHO_APP = """
      import http.server
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = ("path=" + self.path + "\\npeer=" + self.client_address[0] + "\\n" + str(self.headers)).encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      http.server.ThreadingHTTPServer(("0.0.0.0", 9080), H).serve_forever()
      """;
  /** Speaks first (a greeting naming the peer), then echoes every byte until the client's FIN. */
  private static final String GREETING_ECHO_APP = """
      import socket, threading
      def serve(c, peer):
          c.sendall(("220 db ready for " + peer[0] + "\\n").encode())
          while True:
              b = c.recv(4096)
              if not b:
                  break
              c.sendall(b)
          c.close()
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 7070)); s.listen(16)
      while True:
          c, peer = s.accept(); threading.Thread(target=serve, args=(c, peer), daemon=True).start()
      """;
  /** Reads the greeting, sends 10 KiB of every byte value, half-closes, reads the echo. */
  private static final String RAW_CLIENT = """
      import socket, sys
      s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
      f = s.makefile("rb")
      print("greeting:" + f.readline().decode().strip())
      payload = bytes(range(256)) * 40
      s.sendall(payload); s.shutdown(socket.SHUT_WR)
      got = f.read()
      print("echoed_intact=" + str(got == payload) + " bytes=" + str(len(got)))
      """;
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { port: 9080 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec:
        addresses: [ "%s" ]
        ports: [ { port: 7070 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews }
      spec:
        hosts: [ reviews ]
        http:
        - match: [ { headers: { x-canary: { exact: "yes" } } } ]
          headers: { response: { add: { x-route: canary } } }
          route: [ { destination: { host: reviews } } ]
        - headers: { response: { add: { x-route: main } } }
          route: [ { destination: { host: reviews } } ]
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: reviews-no-admin, namespace: default }
      spec:
        selector: { matchLabels: { app: reviews } }
        action: DENY
        rules:
        - to: [ { operation: { paths: [ "/admin*" ] } } ]
      """.formatted(CapturedMtlsAutoProtocolMeshTest.DB_VIP);
  /** db's VIP: a TCP client of a service is told apart by it (the client sidecar's chains by destination address). */
  static final String DB_VIP = "240.240.7.7";
  private static final String STRICT = """
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: default }
      spec: { mtls: { mode: STRICT } }
      """;
  private static final String DENY_FRONTEND_TO_DB = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: db-not-frontend, namespace: default }
      spec:
        selector: { matchLabels: { app: db } }
        action: DENY
        rules:
        - from: [ { source: { principals: [ "cluster.local/ns/default/sa/frontend" ] } } ]
      """;
  /** Entry hosts on ports no registry service has, without protocol: 9081 to reviews' app, 7071 to db's. */
  private static final String ENTRIES = """
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: legacy }
      spec:
        hosts: [ legacy-web.example ]
        location: MESH_EXTERNAL
        resolution: STATIC
        ports: [ { number: 9081, name: web, targetPort: 9080 } ]
        endpoints: [ { address: "%s" } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: legacy-db }
      spec:
        hosts: [ legacy-db.example ]
        location: MESH_EXTERNAL
        resolution: STATIC
        ports: [ { number: 7071, name: db, targetPort: 7070 } ]
        endpoints: [ { address: "%s" } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: legacy-web }
      spec:
        hosts: [ legacy-web.example ]
        http:
        - headers: { response: { add: { x-route: legacy } } }
          route: [ { destination: { host: legacy-web.example } } ]
      """.formatted(CapturedMesh.serverAddress(0), CapturedMesh.serverAddress(1));

  @AutoClose private CapturedMesh m;
  private Path meshConfig;

  @Test
  void strictIdentitySidecarsPickTheHttpOrTcpChainOfAnUnnamedPortByAlpn() throws Exception {
    mesh(SERVICES + STRICT);

    // HTTP: detected by the client sidecar, sent over mTLS offering istio-http/1.1, served by the HTTP chain.
    Result canary = appCurl("reviews", "-i", "-H", "x-canary: yes", "http://reviews:9080/canary");
    assertThat(canary.exit()).as(canary.out() + m.logs()).isZero();
    assertThat(canary.out()).as(canary.out()).startsWith("HTTP/1.1 200").containsIgnoringCase("x-route: canary")
        .contains("path=/canary", "peer=127.0.0.6", ";URI=spiffe://cluster.local/ns/default/sa/frontend");
    Result main = appCurl("reviews", "-i", "http://reviews:9080/main");
    assertThat(main.out()).as(main.out()).containsIgnoringCase("x-route: main").contains("path=/main");
    Result admin = appCurl("reviews", "-i", "http://reviews:9080/admin/users");
    assertThat(admin.out()).as("the DENY on the path, by the server sidecar's HTTP RBAC: " + admin.out())
        .startsWith("HTTP/1.1 403").doesNotContain("path=/admin");

    // TCP, server first: the client sidecar's detection times out (mesh config), the TCP chain over mTLS (ALPN istio).
    Result raw = rawClient(DB_VIP, 7070);
    assertThat(raw.exit()).as(raw.out() + m.logs()).isZero();
    assertThat(raw.out()).as(raw.out() + m.logs()).contains("greeting:220 db ready for 127.0.0.6", "echoed_intact=True bytes=10240");
    assertThat(m.statSum(m.client, "downstream_pre_cx_timeout")).as("the mesh config's 500ms timeout").isPositive();
    assertThat(m.statSum(m.server(1), "downstream_pre_cx_timeout")).as("the TLS ClientHello decides at once").isZero();
    assertThat(m.stat(m.server(1), "tls_inspector.alpn_found")).isPositive();
    assertThat(m.statSum(m.client, "cluster.db.ssl.handshake")).as("mTLS to db").isPositive();
    assertThat(m.stat(m.server(0), "tls_inspector.alpn_found")).as("the server sidecar read the ALPN").isPositive();
    assertThat(m.stat(m.server(0), "http_inspector.http11_found")).as("STRICT: no plaintext inspected").isLessThanOrEqualTo(0);

    // Plaintext from outside the mesh (root in the client namespace is not captured): STRICT has no chain for it.
    Result stranger = run(in(m.client, "curl", "-s", "--max-time", "5", "http://" + CapturedMesh.serverAddress(0)
        + ":9080/hello"), 20);
    assertThat(stranger.out()).as("plaintext to a STRICT auto port").doesNotContain("path=/hello");

    // Network RBAC on the TCP chain: a DENY of the caller's principal, applied while the mesh runs.
    Files.writeString(m.dir.resolve("deny.yaml"), DENY_FRONTEND_TO_DB);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Result denied;
    while ((denied = rawClient(DB_VIP, 7070)).out().contains("greeting:220")) {
      assertThat(System.nanoTime()).as("the DENY not in effect after 30 s: " + m.logs()).isLessThan(deadline);
      Thread.sleep(300);
    }
    assertThat(denied.out()).doesNotContain("echoed_intact=True");
    assertThat(m.statSum(m.server(1), "rbac.denied")).as("denied by the server sidecar's network RBAC").isPositive();
  }

  @Test
  void permissiveServesPlaintextHttpAndTcpOnTheSamePortAndDetectsServiceEntryPortsWithoutProtocol() throws Exception {
    mesh(SERVICES + ENTRIES);

    Result mtls = appCurl("reviews", "-i", "-H", "x-canary: yes", "http://reviews:9080/mesh");
    assertThat(mtls.exit()).as(mtls.out() + m.logs()).isZero();
    assertThat(mtls.out()).containsIgnoringCase("x-route: canary").contains("path=/mesh",
        ";URI=spiffe://cluster.local/ns/default/sa/frontend");

    // Plaintext from outside the mesh: the server sidecar's http_inspector finds HTTP (RBAC applies there too).
    Result plain = run(in(m.client, "curl", "-s", "-i", "--max-time", "5", "http://" + CapturedMesh.serverAddress(0)
        + ":9080/plain"), 20);
    assertThat(plain.out()).as(plain.out() + m.logs()).contains("path=/plain").doesNotContainIgnoringCase("x-forwarded-client-cert");
    Result plainAdmin = run(in(m.client, "curl", "-s", "-i", "--max-time", "5", "http://" + CapturedMesh.serverAddress(0)
        + ":9080/admin"), 20);
    assertThat(plainAdmin.out()).as(plainAdmin.out()).startsWith("HTTP/1.1 403");
    assertThat(m.stat(m.server(0), "http_inspector.http11_found")).isPositive();
    // Plaintext TCP from outside the mesh, server first: the server sidecar's detection timeout, then its TCP chain.
    Result rawPlain = run(in(m.client, PYTHON, "-c", RAW_CLIENT, CapturedMesh.serverAddress(1), "7070"), 30);
    assertThat(rawPlain.out()).as(rawPlain.out() + m.logs())
        .contains("greeting:220 db ready for 127.0.0.6", "echoed_intact=True bytes=10240");
    assertThat(m.statSum(m.server(1), "downstream_pre_cx_timeout")).isPositive();

    // ServiceEntry ports without protocol: HTTP by Host (the entry's VirtualService), TCP to the entry's endpoint.
    Result web = appCurl("legacy-web.example:9081", "-i", "http://legacy-web.example:9081/legacy");
    assertThat(web.out()).as(web.out() + m.logs()).containsIgnoringCase("x-route: legacy").contains("path=/legacy");
    Result db = rawClient(CapturedMesh.serverAddress(1), 7071); // captured: port 7071 is the entry's alone
    assertThat(db.out()).as(db.out() + m.logs()).contains("greeting:220 db ready for", "echoed_intact=True bytes=10240");
    assertThat(m.stat(m.client, "cluster.outbound|7071||legacy-db.example.upstream_cx_total")).isPositive();
  }

  /** The namespaces, {@code bin/keelson control} with {@code policies}, the apps and three identity sidecars. */
  private void mesh(String policies) throws Exception {
    m = CapturedMesh.create("CapturedMtlsAutoProtocolMeshTest");
    m.topology(2);
    meshConfig = Files.createTempFile("keelson-mesh", ".yaml");
    Files.writeString(meshConfig, "protocolDetectionTimeout: 500ms\n");
    m.control(policies, "--mesh-config", meshConfig.toString());
    m.iptables();
    m.start(m.server(0), "reviews-app", appUser(PYTHON, "-c", ECHO_APP));
    m.start(m.server(1), "db-app", appUser(PYTHON, "-c", GREETING_ECHO_APP));
    Path root = m.dir.resolve("root.pem");
    Files.writeString(root, m.awaitRootPem());
    m.start(m.server(0), "reviews-sidecar", CapturedMesh.sidecar(m.secureXds(root, "reviews"), "reviews", "9080",
        CapturedMesh.serverAddress(0), "--labels", "app=reviews"));
    m.start(m.server(1), "db-sidecar", CapturedMesh.sidecar(m.secureXds(root, "db"), "db", "7070",
        CapturedMesh.serverAddress(1), "--labels", "app=db"));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(m.secureXds(root, "frontend"), "frontend", "8000",
        "10.77.1.2", "--labels", "app=frontend"));
    m.awaitOutput(m.client, "0.0.0.0_7070::0.0.0.0:7070", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(m.client, "0.0.0.0_9080::0.0.0.0:9080", "curl", "-s", "http://127.0.0.1:9901/listeners");
    for (int k = 0; k < 2; k++) {
      // virtualInbound with the identity's chains (an earlier push may not have the identity yet).
      m.awaitOutput(m.server(k), "istio-http/1.1", 120, "curl", "-s", "http://127.0.0.1:9901/config_dump");
    }
  }

  private Result rawClient(String address, int port) {
    return run(in(m.client, appUser(PYTHON, "-c", RAW_CLIENT, address, String.valueOf(port))), 30);
  }

  /** curl as the app user in the client namespace, {@code host} resolved to the server's pod address. */
  private Result appCurl(String host, String... args) {
    String resolve = host.contains(":") ? host + ":" + CapturedMesh.serverAddress(0)
        : host + ":9080:" + CapturedMesh.serverAddress(0);
    return m.appCurl(10, resolve, args);
  }

  @AfterEach
  void tearDown() throws IOException {
    if (meshConfig != null) {
      Files.deleteIfExists(meshConfig);
    }
  }
}
