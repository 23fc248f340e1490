package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.control.sidecar.CapturedMesh.count;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import io.keelson.testkit.Shell.Result;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Traffic capture end to end, through both halves: {@code bin/keelson iptables} and {@code --capture iptables}
 * sidecars (control plane: istiod's virtualOutbound / {@code 0.0.0.0_<port>} / virtualInbound shape) on the data
 * plane's original_dst listener filter, {@code use_original_dst} hand-off, destination-port chains, ORIGINAL_DST
 * clusters and {@code upstream_bind_config} (the inbound passthrough connects from 127.0.0.6). Real processes only:
 * three network namespaces, {@code bin/keelson control}, two sidecar JVMs, python apps, curl.
 *
 * <pre>
 * client ns (10.77.1.2) ── veth ── cp ns (10.77.1.1 | 10.77.2.1, forwarding; bin/keelson control) ── veth ── server ns (10.77.2.2)
 *   bin/keelson iptables --proxy-uid 0                                                                 bin/keelson iptables --proxy-uid 0
 *   sidecar --capture iptables (root)                                                                  sidecar --capture iptables (root)
 *   curl as uid 65534: http://reviews:9080 (--resolve to 10.77.2.2)                                   app (uid 65534) on 10.77.2.2:9080 only;
 *                                                                                                      a plain TCP server on :7000
 * </pre>
 *
 * The sidecars run as root (the iptables proxy uid) because the classpath under /root is not readable by another
 * user; the client and the apps run as uid 65534 and know nothing of the mesh. Shown, without identities: a request
 * to a service name lands in the app through both sidecars (the client sidecar's {@code x-envoy-attempt-count}, the
 * app's peer is the server sidecar at 127.0.0.6), on the app's pod address (as Istio 1.10+: an app listening on the pod
 * address only is served, one listening on 127.0.0.1 only is not, until a Sidecar's {@code ingress[].defaultEndpoint}
 * 127.0.0.1:9080 sends its traffic there), three requests on one keep-alive connection are all served, and a
 * connection to a port no service has goes through both passthroughs (the TCP server's peer is 127.0.0.6, the
 * inbound passthrough's bound source). With identities (join tokens over the secure port): PERMISSIVE by default, the
 * app sees the caller's SPIFFE ID in {@code x-forwarded-client-cert} and plaintext from outside the mesh is served
 * too; once a STRICT PeerAuthentication is applied, mesh requests still carry the caller's identity and plaintext from
 * outside the mesh is refused on the app port and on the passthrough port alike. Skipped, with the reason printed, without root or the tools. Each test
 * removes its namespaces (and with them the iptables rules, which live only there) even when it fails.
 */
class CapturedMeshTest {
  /** The app: answers every GET with its path, its peer and the request's headers (APP_ADDRESS:9080, IPv4 or IPv6). */
  static final String ECHO_APP = """
      import http.server, socket
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = ("path=" + self.path + "\\npeer=" + self.client_address[0] + "\\n" + str(self.headers)).encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      class S(http.server.ThreadingHTTPServer):
          address_family = socket.AF_INET6 if ":" in "APP_ADDRESS" else socket.AF_INET  # "::": IPv4 and IPv6 alike
      S(("APP_ADDRESS", 9080), H).serve_forever()
      """;
  private static final String HELLO_SERVER = """
      import socket
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 7000)); s.listen(8)
      while True:
          c, peer = s.accept(); c.sendall(("hello from 7000 to " + peer[0] + "\\n").encode()); c.close()
      """;
  private static final String TCP_CLIENT = """
      import socket
      s = socket.create_connection(("10.77.2.2", 7000), timeout=5)
      print("got:" + s.recv(100).decode().strip())
      """;
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { name: http, port: 9080 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      """;
  /** Istio's escape hatch for apps listening on loopback only; egress as without a Sidecar (everything). */
  private static final String LOOPBACK_INGRESS = """
      apiVersion: networking.istio.io/v1
      kind: Sidecar
      metadata: { name: loopback-app, namespace: default }
      spec:
        ingress: [ { port: { number: 9080, protocol: HTTP, name: http }, defaultEndpoint: "127.0.0.1:9080" } ]
        egress: [ { hosts: [ "*/*" ] } ]
      """;
  private static final String STRICT = """
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: default }
      spec: { mtls: { mode: STRICT } }
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void anUnmodifiedClientReachesAServiceByNameThroughBothCapturedSidecars() throws Exception {
    mesh(SERVICES, false);

    Result request = appCurl("http://reviews:9080/hello");
    assertThat(request.exit()).as(request.out()).isZero();
    assertThat(request.out()).as("through the client sidecar (its attempt count) and the server sidecar (the peer)")
        .contains("path=/hello").containsIgnoringCase("x-envoy-attempt-count: 1").contains("peer=127.0.0.6");

    // HTTP/1.1 keep-alive: three requests on one client connection, each routed through both sidecars.
    Result keepAlive = appCurl("-v", "http://reviews:9080/one", "http://reviews:9080/two", "http://reviews:9080/three");
    assertThat(keepAlive.exit()).as(keepAlive.out()).isZero();
    assertThat(keepAlive.out()).as(keepAlive.out()).contains("path=/one", "path=/two", "path=/three")
        .containsPattern("(?i)re-using existing connection");
    assertThat(count(keepAlive.out(), "x-envoy-attempt-count: 1")).as(keepAlive.out()).isEqualTo(3);
    assertThat(count(keepAlive.out(), "Connected to")).as("one connection for the three: " + keepAlive.out()).isEqualTo(1);

    // A port no service has: virtualOutbound's PassthroughFilterChain, then virtualInbound's
    // InboundPassthroughFilterChain, whose cluster connects from 127.0.0.6 (upstream_bind_config).
    Result passthrough = run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT)), 20);
    assertThat(passthrough.exit()).as(passthrough.out()).isZero();
    assertThat(passthrough.out()).contains("got:hello from 7000 to 127.0.0.6");
    assertThat(m.stat(m.client, "cluster.PassthroughCluster.upstream_cx_total")).isPositive();
    assertThat(m.stat(m.server(0), "cluster.InboundPassthroughCluster.upstream_cx_total")).isPositive();
  }

  @Test
  void anAppListeningOnlyOnLoopbackIsNotReachedThroughItsCapturedSidecarUntilASidecarIngressSendsThere() throws Exception {
    mesh(SERVICES, false, "127.0.0.1");

    // The app is up: a local call as the app user (not captured: -d 127.0.0.1 RETURN) reaches it.
    m.awaitOutput(m.server(0), "path=/local", appUser("curl", "-s", "--max-time", "5", "http://127.0.0.1:9080/local"));

    // As Istio 1.10+: the server sidecar connects to the pod address, where nothing listens on the app port.
    Result request = appCurl("-w", "status=%{http_code}", "http://reviews:9080/loopback");
    assertThat(request.out()).as(request.out()).contains("status=503").doesNotContain("path=/loopback");
    assertThat(m.stat(m.server(0), "cluster.inbound|9080.upstream_cx_connect_fail")).as(m.logs()).isPositive();

    // Istio's way back: a Sidecar's ingress defaultEndpoint 127.0.0.1:9080, applied while the mesh runs.
    Files.writeString(m.dir.resolve("loopback.yaml"), LOOPBACK_INGRESS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Result reached;
    while (!(reached = appCurl("http://reviews:9080/loopback")).out().contains("path=/loopback")) {
      assertThat(System.nanoTime()).as("ingress defaultEndpoint not in effect after 30 s: " + reached.out() + m.logs())
          .isLessThan(deadline);
      Thread.sleep(200);
    }
    assertThat(reached.out()).as("the server sidecar from loopback, not 127.0.0.6").contains("peer=127.0.0.1");
  }

  @Test
  void capturedSidecarsTalkMtlsPermissiveThenStrictAndStrictRefusesPlaintextFromOutsideTheMesh() throws Exception {
    mesh(SERVICES, true);

    // PERMISSIVE (no PeerAuthentication): the sidecars talk mTLS (XFCC), and plaintext from outside the mesh (root in
    // the client namespace is not captured) is served too, by the plaintext chain beside the TLS one.
    Result permissive = appCurl("http://reviews:9080/permissive");
    assertThat(permissive.exit()).as(permissive.out()).isZero();
    assertThat(permissive.out()).contains("path=/permissive").containsIgnoringCase(
        "x-forwarded-client-cert: By=spiffe://cluster.local/ns/default/sa/reviews;Hash=");
    Result plain = run(in(m.client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:9080/plain"), 20);
    assertThat(plain.out()).as("plaintext to a PERMISSIVE sidecar").contains("path=/plain")
        .doesNotContainIgnoringCase("x-forwarded-client-cert");

    // STRICT, applied while the mesh runs (the control plane watches its config directory).
    Files.writeString(m.dir.resolve("strict.yaml"), STRICT);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (run(in(m.client, "curl", "-s", "--max-time", "2", "http://10.77.2.2:9080/plain"), 20).out().contains("path=")) {
      assertThat(System.nanoTime()).as("STRICT not in effect after 30 s: " + m.logs()).isLessThan(deadline);
      Thread.sleep(200);
    }

    Result request = appCurl("http://reviews:9080/hello", "http://reviews:9080/again");
    assertThat(request.exit()).as(request.out()).isZero();
    assertThat(request.out()).as("the app sees the caller's verified identity (XFCC), twice")
        .contains("path=/hello", "path=/again").contains("peer=127.0.0.6");
    assertThat(count(request.out().toLowerCase(java.util.Locale.ROOT),
        "x-forwarded-client-cert: by=spiffe://cluster.local/ns/default/sa/reviews;hash=")).as(request.out()).isEqualTo(2);
    assertThat(request.out()).contains(";URI=spiffe://cluster.local/ns/default/sa/frontend");

    // Plaintext from outside the mesh (root in the client namespace is not captured): refused on the app port,
    // and on a port no service has (STRICT covers the inbound passthrough too, as in Istio).
    Result stranger = run(in(m.client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:9080/hello"), 20);
    assertThat(stranger.exit()).as("plaintext to the app port: " + stranger.out()).isNotZero();
    assertThat(stranger.out()).doesNotContain("path=/hello");
    Result passthrough = run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT)), 20);
    assertThat(passthrough.out()).as("plaintext passthrough to a STRICT sidecar").doesNotContain("hello from 7000");
    // The requests went over mTLS between the sidecars: TLS handshakes on both ends.
    assertThat(m.statSum(m.client, "cluster.reviews.ssl.handshake")).as("client sidecar's mTLS handshakes").isPositive();
    assertThat(m.statSum(m.server(0), ".ssl.handshake")).as("server sidecar's inbound mTLS handshakes").isPositive();
  }

  /**
   * Sets up the namespaces, the control plane with {@code policies}, iptables in both workload namespaces, the apps and
   * both captured sidecars (with join tokens when {@code identities}), and waits until both sidecars run the control
   * plane's listeners.
   */
  private void mesh(String policies, boolean identities) throws Exception {
    mesh(policies, identities, "10.77.2.2");
  }

  /** As {@link #mesh(String, boolean)}, the app listening on {@code appAddress} only. */
  private void mesh(String policies, boolean identities, String appAddress) throws Exception {
    m = CapturedMesh.create("CapturedMeshTest");
    m.topology(1);
    String server = m.server(0);
    m.control(policies);
    m.iptables();
    m.start(server, "app", appUser(PYTHON, "-c", ECHO_APP.replace("APP_ADDRESS", appAddress)));
    m.start(server, "hello", appUser(PYTHON, "-c", HELLO_SERVER));
    // The sidecars start once the control plane answers (else their reconnect backoff decides how long this takes).
    String rootPem = m.awaitRootPem();
    List<String> serverXds = List.of("--xds", "10.77.1.1:15010");
    List<String> clientXds = serverXds;
    if (identities) {
      // What 'bin/keelson ca-root' and 'bin/keelson token create' do, through the HTTP API with curl (no JVM starts).
      Path root = m.dir.resolve("root.pem");
      Files.writeString(root, rootPem);
      serverXds = m.secureXds(root, "reviews");
      clientXds = m.secureXds(root, "frontend");
    }
    m.start(server, "server-sidecar", CapturedMesh.sidecar(serverXds, "reviews", "9080", "10.77.2.2"));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(clientXds, "frontend", "8000", "10.77.1.2"));

    // The client sidecar has the per-port listener (its LDS was accepted), the server sidecar its virtualInbound
    // with the app's destination-port chain.
    // Two sidecar JVMs starting on a loaded machine: generous waits.
    m.awaitOutput(m.client, "0.0.0.0_9080::0.0.0.0:9080", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(server, "0.0.0.0_9080::0.0.0.0:9080", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(server, "virtualInbound", 30, "curl", "-s", "http://127.0.0.1:9901/config_dump");
  }

  /** curl as the app user in the client namespace, the service name resolved to the server's pod address. */
  private Result appCurl(String... args) {
    return m.appCurl(5, "reviews:9080:10.77.2.2", args);
  }
}
