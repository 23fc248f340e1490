package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.testkit.Shell.Result;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * DNS proxying end to end (Istio's {@code ISTIO_META_DNS_CAPTURE} and {@code DNS_AUTO_ALLOCATE}): an app that knows
 * nothing of the mesh resolves service names through its ordinary resolver and reaches the services by name.
 *
 * <pre>
 * client ns (10.77.1.2)                         cp ns (10.77.1.1: bin/keelson control; a tiny DNS server on :53)
 *   resolv.conf: nameserver 10.77.1.1, search shop.svc.cluster.local svc.cluster.local cluster.local, ndots:5
 *   bin/keelson iptables --proxy-uid 0 --redirect-dns       (port 53, UDP and TCP, to 127.0.0.1:15053)
 *   sidecar --capture iptables --dns-capture (root)         server 0 (10.77.2.2): reviews, HTTP 7100
 *   getent / python / curl as uid 65534                     server 1 (10.77.3.2): ledger, TCP 7100 (the same port)
 *                                                           server 2 (10.77.4.2): audit,  TCP 7100 (the same port)
 * </pre>
 *
 * Shown: service names in every form resolve to the service's VIP (240.240.0.0/16) without the upstream ever seeing
 * them; {@code curl http://reviews:7100/} (no {@code --resolve}) goes through both sidecars; the two TCP services on
 * the same port 7100 are each reached by name at their own backend (the client sidecar tells them apart by VIP, before
 * the port's HTTP chain); an unknown
 * name is forwarded to the upstream resolver from resolv.conf and its answer reaches the app, a name nobody knows fails;
 * DNS over TCP is answered too; the sidecar counts it all in {@code dns.*}. Skipped, with the reason printed, without
 * root or the tools; the namespaces, their resolv.conf and the processes are removed even when it fails.
 */
class CapturedDnsMeshTest {
  /** Answers HTTP with its name (argv[1]), the path, its peer and the request's headers; on 0.0.0.0:argv[2]. */
  private static final String APP = """
      import http.server, sys
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = ("app=" + sys.argv[1] + " path=" + self.path + "\\npeer=" + self.client_address[0] + "\\n"
                      + str(self.headers)).encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
      """;
  /** The namespace's "real" resolver: outside.example A 10.77.1.9, NXDOMAIN for the rest; prints each question. */
  private static final String UPSTREAM_DNS = """
      import socket
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.1.1", 53))
      while True:
          q, peer = s.recvfrom(4096)
          i = 12; labels = []
          while q[i]:
              labels.append(q[i + 1:i + 1 + q[i]].decode()); i += 1 + q[i]
          name = ".".join(labels).lower(); qtype = q[i + 1] * 256 + q[i + 2]; end = i + 5
          print("asked " + name + " " + str(qtype), flush=True)
          if name == "outside.example":
              an = b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04" + bytes([10, 77, 1, 9]) if qtype == 1 else b""
              r = q[:2] + b"\\x81\\x80\\x00\\x01" + (b"\\x00\\x01" if an else b"\\x00\\x00") + b"\\x00\\x00\\x00\\x00" + q[12:end] + an
          else:
              r = q[:2] + b"\\x81\\x83\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00" + q[12:end]
          s.sendto(r, peer)
      """;
  /** One A query over TCP to argv[2]:53 for argv[1]; prints the rcode, the answer count and the first address. */
  private static final String TCP_QUERY = """
      import socket, struct, sys
      q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(
          bytes([len(l)]) + l.encode() for l in sys.argv[1].split(".")) + b"\\0" + struct.pack(">HH", 1, 1)
      s = socket.create_connection((sys.argv[2], 53), timeout=5)
      s.sendall(struct.pack(">H", len(q)) + q)
      n = struct.unpack(">H", s.recv(2))[0]; r = b""
      while len(r) < n:
          r += s.recv(n - len(r))
      an = struct.unpack(">H", r[6:8])[0]
      print("id=%d rcode=%d answers=%d" % (struct.unpack(">H", r[:2])[0], r[3] & 15, an)
            + (" a=" + ".".join(str(b) for b in r[-4:]) if an else ""))
      """;
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { name: http, port: 7100 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: ledger }
      spec:
        ports: [ { name: tcp, port: 7100 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: audit }
      spec:
        ports: [ { name: tcp, port: 7100 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void anUnmodifiedAppResolvesServiceNamesToVipsAndReachesEachServiceByName() throws Exception {
    m = CapturedMesh.create("CapturedDnsMeshTest", "getent");
    m.topology(3);
    m.resolvConf(m.client, "nameserver 10.77.1.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\n"
        + "options ndots:5 timeout:2 attempts:1\n");
    m.control(SERVICES);
    m.start(m.cp, "upstream-dns", PYTHON, "-c", UPSTREAM_DNS);
    m.iptables(List.of("--redirect-dns"));
    m.start(m.server(0), "reviews", appUser(PYTHON, "-c", APP, "reviews", "7100"));
    m.start(m.server(1), "ledger", appUser(PYTHON, "-c", APP, "ledger", "7100"));
    m.start(m.server(2), "audit", appUser(PYTHON, "-c", APP, "audit", "7100"));
    m.awaitRootPem();
    List<String> xds = List.of("--xds", "10.77.1.1:15010");
    m.start(m.server(0), "reviews-sidecar", CapturedMesh.sidecar(xds, "reviews", "7100", CapturedMesh.serverAddress(0)));
    m.start(m.server(1), "ledger-sidecar", CapturedMesh.sidecar(xds, "ledger", "7100", CapturedMesh.serverAddress(1)));
    m.start(m.server(2), "audit-sidecar", CapturedMesh.sidecar(xds, "audit", "7100", CapturedMesh.serverAddress(2)));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(xds, "frontend", "8000", "10.77.1.2", "--dns-capture"));
    m.awaitOutput(m.client, "0.0.0.0_7100::0.0.0.0:7100", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(m.client, "audit.default.svc.cluster.local", "curl", "-s", "http://127.0.0.1:9901/config_dump");
    for (int k = 0; k < 3; k++) {
      m.awaitOutput(m.server(k), "virtualInbound", "curl", "-s", "http://127.0.0.1:9901/config_dump");
    }

    // Every form of a service's name resolves, through the app's own resolver, to one VIP in 240.240.0.0/16.
    String reviews = vip("reviews");
    assertThat(reviews).startsWith("240.240.");
    for (String name : List.of("reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local")) {
      assertThat(vip(name)).as(name).isEqualTo(reviews);
    }
    Result python = run(in(m.client, appUser(PYTHON, "-c", "import socket; print(socket.gethostbyname('reviews'))")), 20);
    assertThat(python.out().strip()).as(python.out()).isEqualTo(reviews);
    String ledger = vip("ledger");
    String audit = vip("audit");
    assertThat(ledger).startsWith("240.240.").isNotEqualTo(audit);
    assertThat(audit).startsWith("240.240.");

    // HTTP by name, no --resolve: through the client sidecar (its attempt count) and the server's (the app's peer).
    Result http = appCurl("http://reviews:7100/hello");
    assertThat(http.exit()).as(http.out()).isZero();
    assertThat(http.out()).contains("app=reviews path=/hello").containsIgnoringCase("x-envoy-attempt-count: 1")
        .contains("peer=127.0.0.6");
    Result fqdn = appCurl("http://reviews.default.svc.cluster.local:7100/fqdn");
    assertThat(fqdn.out()).as("the FQDN as Host is the service's too").contains("app=reviews path=/fqdn");

    // Two TCP services on the HTTP service's port, each by name at its own backend (tcp_proxy chains matched by VIP,
    // before the port's HTTP chain).
    for (int i = 0; i < 2; i++) {
      Result toLedger = appCurl("http://ledger:7100/l" + i);
      assertThat(toLedger.out()).as(toLedger.out()).contains("app=ledger path=/l" + i).contains("peer=127.0.0.6")
          .doesNotContainIgnoringCase("x-envoy-attempt-count"); // bytes, not HTTP routing
      Result toAudit = appCurl("http://audit:7100/a" + i);
      assertThat(toAudit.out()).as(toAudit.out()).contains("app=audit path=/a" + i);
    }

    // DNS over TCP is captured and answered too.
    Result tcp = run(in(m.client, appUser(PYTHON, "-c", TCP_QUERY, "ledger.default.svc.cluster.local", "10.77.1.1")), 20);
    assertThat(tcp.out().strip()).as(tcp.out()).isEqualTo("id=4660 rcode=0 answers=1 a=" + ledger);

    // A name the mesh does not own is forwarded to the resolver of resolv.conf, and its answer reaches the app.
    Result outside = run(in(m.client, appUser("getent", "hosts", "outside.example")), 20);
    assertThat(outside.out()).as(outside.out()).startsWith("10.77.1.9");
    Result unknown = run(in(m.client, appUser("getent", "hosts", "nosuch.example")), 20);
    assertThat(unknown.exit()).as("a name nobody knows: " + unknown.out()).isNotZero();
    String asked = Files.readString(m.dir.resolve("upstream-dns.log"));
    assertThat(asked).as("forwarded upstream").contains("asked outside.example 1").contains("asked nosuch.example 1")
        .as("mesh names and the mesh zone are answered by the sidecar").doesNotContain("reviews", "ledger", "svc.cluster.local");

    assertThat(m.stat(m.client, "dns.answered")).isPositive();
    assertThat(m.stat(m.client, "dns.nxdomain")).as("outside.example.shop.svc.cluster.local and the like").isPositive();
    assertThat(m.stat(m.client, "dns.forwarded")).isPositive();
    assertThat(m.stat(m.client, "dns.upstream_responses")).isPositive();
    assertThat(m.stat(m.client, "dns.queries_tcp")).isPositive();
    assertThat(m.stat(m.client, "dns.upstream_timeouts")).isZero();
  }

  /** The address {@code getent hosts NAME} gives the app. */
  private String vip(String name) {
    Result r = run(in(m.client, appUser("getent", "hosts", name)), 20);
    assertThat(r.exit()).as(name + ": " + r.out()).isZero();
    return r.out().strip().split("\\s+")[0];
  }

  private Result appCurl(String url) {
    return m.appCurl(url);
  }
}
