package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.cli.KeelsonMain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
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
 *   curl as uid 65534: http://reviews:9080 (--resolve to 10.77.2.2)                                   app (uid 65534) on 127.0.0.1:9080;
 *                                                                                                      a plain TCP server on :7000
 * </pre>
 *
 * The sidecars run as root (the iptables proxy uid) because the classpath under /root is not readable by another
 * user; the client and the apps run as uid 65534 and know nothing of the mesh. Shown, without identities: a request
 * to a service name lands in the app through both sidecars (the client sidecar's {@code x-envoy-attempt-count}, the
 * app's peer is the server sidecar at 127.0.0.1), three requests on one keep-alive connection are all served, and a
 * connection to a port no service has goes through both passthroughs (the TCP server's peer is 127.0.0.6, the
 * inbound passthrough's bound source). With identities (join tokens over the secure port): PERMISSIVE by default, the
 * app sees the caller's SPIFFE ID in {@code x-forwarded-client-cert} and plaintext from outside the mesh is served
 * too; once a STRICT PeerAuthentication is applied, mesh requests still carry the caller's identity and plaintext from
 * outside the mesh is refused on the app port and on the passthrough port alike. Skipped, with the reason printed, without root or the tools. Each test
 * removes its namespaces (and with them the iptables rules, which live only there) even when it fails.
 */
class CapturedMeshTest {
  private static final String PYTHON = "/usr/bin/python3";
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
      http.server.ThreadingHTTPServer(("127.0.0.1", 9080), H).serve_forever()
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
  private static final String STRICT = """
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: shop }
      spec: { mtls: { mode: STRICT } }
      """;
  private static final String API = "http://10.77.1.1:15014";
  private static final String[] APP_USER = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};

  private final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
  private final String client = "kmc-" + suffix;
  private final String cp = "kmp-" + suffix;
  private final String server = "kms-" + suffix;
  private final List<String> namespaces = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private Path dir;

  @Test
  void anUnmodifiedClientReachesAServiceByNameThroughBothCapturedSidecars() throws Exception {
    mesh(SERVICES, false);

    Result request = appCurl("http://reviews:9080/hello");
    assertThat(request.exit()).as(request.out()).isZero();
    assertThat(request.out()).as("through the client sidecar (its attempt count) and the server sidecar (the peer)")
        .contains("path=/hello").containsIgnoringCase("x-envoy-attempt-count: 1").contains("peer=127.0.0.1");

    // HTTP/1.1 keep-alive: three requests on one client connection, each routed through both sidecars.
    Result keepAlive = appCurl("-v", "http://reviews:9080/one", "http://reviews:9080/two", "http://reviews:9080/three");
    assertThat(keepAlive.exit()).as(keepAlive.out()).isZero();
    assertThat(keepAlive.out()).as(keepAlive.out()).contains("path=/one", "path=/two", "path=/three")
        .containsPattern("(?i)re-using existing connection");
    assertThat(count(keepAlive.out(), "x-envoy-attempt-count: 1")).as(keepAlive.out()).isEqualTo(3);
    assertThat(count(keepAlive.out(), "Connected to")).as("one connection for the three: " + keepAlive.out()).isEqualTo(1);

    // A port no service has: virtualOutbound's PassthroughFilterChain, then virtualInbound's
    // InboundPassthroughFilterChain, whose cluster connects from 127.0.0.6 (upstream_bind_config).
    Result passthrough = run(in(client, appUser(PYTHON, "-c", TCP_CLIENT)), 20);
    assertThat(passthrough.exit()).as(passthrough.out()).isZero();
    assertThat(passthrough.out()).contains("got:hello from 7000 to 127.0.0.6");
    assertThat(stat(client, "cluster.PassthroughCluster.upstream_cx_total")).isPositive();
    assertThat(stat(server, "cluster.InboundPassthroughCluster.upstream_cx_total")).isPositive();
  }

  @Test
  void capturedSidecarsTalkMtlsPermissiveThenStrictAndStrictRefusesPlaintextFromOutsideTheMesh() throws Exception {
    mesh(SERVICES, true);

    // PERMISSIVE (no PeerAuthentication): the sidecars talk mTLS (XFCC), and plaintext from outside the mesh (root in
    // the client namespace is not captured) is served too, by the plaintext chain beside the TLS one.
    Result permissive = appCurl("http://reviews:9080/permissive");
    assertThat(permissive.exit()).as(permissive.out()).isZero();
    assertThat(permissive.out()).contains("path=/permissive").containsIgnoringCase(
        "x-forwarded-client-cert: By=spiffe://cluster.local/ns/shop/sa/reviews;Hash=");
    Result plain = run(in(client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:9080/plain"), 20);
    assertThat(plain.out()).as("plaintext to a PERMISSIVE sidecar").contains("path=/plain")
        .doesNotContainIgnoringCase("x-forwarded-client-cert");

    // STRICT, applied while the mesh runs (the control plane watches its config directory).
    Files.writeString(dir.resolve("strict.yaml"), STRICT);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (run(in(client, "curl", "-s", "--max-time", "2", "http://10.77.2.2:9080/plain"), 20).out().contains("path=")) {
      assertThat(System.nanoTime()).as("STRICT not in effect after 30 s: " + logs()).isLessThan(deadline);
      Thread.sleep(200);
    }

    Result request = appCurl("http://reviews:9080/hello", "http://reviews:9080/again");
    assertThat(request.exit()).as(request.out()).isZero();
    assertThat(request.out()).as("the app sees the caller's verified identity (XFCC), twice")
        .contains("path=/hello", "path=/again").contains("peer=127.0.0.1");
    assertThat(count(request.out().toLowerCase(java.util.Locale.ROOT),
        "x-forwarded-client-cert: by=spiffe://cluster.local/ns/shop/sa/reviews;hash=")).as(request.out()).isEqualTo(2);
    assertThat(request.out()).contains(";URI=spiffe://cluster.local/ns/shop/sa/frontend");

    // Plaintext from outside the mesh (root in the client namespace is not captured): refused on the app port,
    // and on a port no service has (STRICT covers the inbound passthrough too, as in Istio).
    Result stranger = run(in(client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:9080/hello"), 20);
    assertThat(stranger.exit()).as("plaintext to the app port: " + stranger.out()).isNotZero();
    assertThat(stranger.out()).doesNotContain("path=/hello");
    Result passthrough = run(in(client, appUser(PYTHON, "-c", TCP_CLIENT)), 20);
    assertThat(passthrough.out()).as("plaintext passthrough to a STRICT sidecar").doesNotContain("hello from 7000");
    // The requests went over mTLS between the sidecars: TLS handshakes on both ends.
    assertThat(statSum(client, "cluster.reviews.ssl.handshake")).as("client sidecar's mTLS handshakes").isPositive();
    assertThat(statSum(server, ".ssl.handshake")).as("server sidecar's inbound mTLS handshakes").isPositive();
  }

  /**
   * Sets up the namespaces, the control plane with {@code policies}, iptables in both workload namespaces, the apps and
   * both captured sidecars (with join tokens when {@code identities}), and waits until both sidecars run the control
   * plane's listeners.
   */
  private void mesh(String policies, boolean identities) throws Exception {
    String missing = missingPrerequisite();
    if (missing != null) {
      System.err.println("CapturedMeshTest skipped: " + missing);
    }
    Assumptions.assumeTrue(missing == null, missing);
    dir = Files.createTempDirectory("keelson-mesh-");
    topology();
    Files.writeString(dir.resolve("services.yaml"), policies);
    // Bound to 10.77.1.1 (routed from both sides): the secure port's certificate names its bind address.
    start(cp, "control", keelson("control", "--bind", "10.77.1.1", "--xds-port", "15010", "--api-port", "15014",
        "--config-dir", dir.toString()));
    // istio-init's part, in both workload namespaces at once (each is a JVM start).
    List<Process> iptables = new ArrayList<>();
    for (String ns : List.of(client, server)) {
      iptables.add(start(ns, "iptables-" + ns, keelson("iptables", "--proxy-uid", "0")));
    }
    for (Process p : iptables) {
      assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as("bin/keelson iptables: " + logs()).isTrue();
    }
    start(server, "app", appUser(PYTHON, "-c", ECHO_APP));
    start(server, "hello", appUser(PYTHON, "-c", HELLO_SERVER));
    // The sidecars start once the control plane answers (else their reconnect backoff decides how long this takes).
    String rootPem = awaitOutput(cp, "-----END CERTIFICATE-----", "curl", "-sf", API + "/v1/ca/root");
    List<String> serverXds = List.of("--xds", "10.77.1.1:15010");
    List<String> clientXds = serverXds;
    if (identities) {
      // What 'bin/keelson ca-root' and 'bin/keelson token create' do, through the HTTP API with curl (no JVM starts).
      Path root = dir.resolve("root.pem");
      Files.writeString(root, rootPem);
      serverXds = secureXds(root, "reviews");
      clientXds = secureXds(root, "frontend");
    }
    start(server, "server-sidecar", sidecar(serverXds, "reviews", "9080", "10.77.2.2"));
    start(client, "client-sidecar", sidecar(clientXds, "frontend", "8000", "10.77.1.2"));

    // The client sidecar has the per-port listener (its LDS was accepted), the server sidecar its virtualInbound
    // with the app's destination-port chain.
    awaitOutput(client, "0.0.0.0_9080::0.0.0.0:9080", "curl", "-s", "http://127.0.0.1:9901/listeners");
    awaitOutput(server, "0.0.0.0_9080::0.0.0.0:9080", "curl", "-s", "http://127.0.0.1:9901/listeners");
    awaitOutput(server, "virtualInbound", "curl", "-s", "http://127.0.0.1:9901/config_dump");
  }

  /** xDS over the secure port with a join token for service account {@code sa} of namespace shop. */
  private List<String> secureXds(Path root, String sa) throws IOException {
    Result token = run(in(cp, "curl", "-sf", "-X", "POST", "-H", "content-type: application/json", "-d",
        "{\"namespace\":\"shop\",\"serviceAccount\":\"" + sa + "\"}", API + "/v1/tokens"), 30);
    assertThat(token.exit()).as(token.out()).isZero();
    var value = java.util.regex.Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"").matcher(token.out());
    assertThat(value.find()).as(token.out()).isTrue();
    Path file = dir.resolve(sa + ".token");
    Files.writeString(file, value.group(1) + "\n");
    return List.of("--xds", "10.77.1.1:15012", "--xds-root-ca", root.toString(), "--token-file", file.toString());
  }

  private static String[] sidecar(List<String> xds, String service, String appPort, String address) {
    List<String> args = new ArrayList<>(List.of("proxy"));
    args.addAll(xds);
    args.addAll(List.of("--service", service, "--app-port", appPort, "--capture", "iptables", "--address", address,
        "--concurrency", "1"));
    return keelson(args.toArray(new String[0]));
  }

  /** curl as the app user in the client namespace, the service name resolved to the server's pod address. */
  private Result appCurl(String... args) {
    List<String> command = new ArrayList<>(List.of(APP_USER));
    command.addAll(List.of("curl", "-s", "--max-time", "5", "--resolve", "reviews:9080:10.77.2.2"));
    command.addAll(List.of(args));
    return run(in(client, command.toArray(new String[0])), 20);
  }

  /** A counter from a sidecar's admin /stats ({@code name: value}); -1 when absent. */
  private long stat(String ns, String name) {
    String all = run(in(ns, "curl", "-s", "http://127.0.0.1:9901/stats"), 10).out();
    return all.lines().filter(l -> l.startsWith(name + ": ")).mapToLong(l -> Long.parseLong(l.substring(name.length() + 2).strip()))
        .findFirst().orElse(-1);
  }

  /** The sum of a sidecar's admin /stats counters whose names start with {@code listener.} and end with {@code suffix}. */
  private long statSum(String ns, String suffix) {
    String all = run(in(ns, "curl", "-s", "http://127.0.0.1:9901/stats"), 10).out();
    String prefix = suffix.startsWith(".") ? "listener." : "";
    return all.lines().filter(l -> l.contains(": ")).filter(l -> {
      String name = l.substring(0, l.indexOf(": "));
      return name.startsWith(prefix) && name.endsWith(suffix);
    }).mapToLong(l -> Long.parseLong(l.substring(l.indexOf(": ") + 2).strip())).sum();
  }

  private static int count(String text, String part) {
    int n = 0;
    for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
      n++;
    }
    return n;
  }

  private static String[] appUser(String... command) {
    List<String> all = new ArrayList<>(List.of(APP_USER));
    all.addAll(List.of(command));
    return all.toArray(new String[0]);
  }

  private void topology() {
    for (String ns : List.of(client, cp, server)) {
      ok("ip", "netns", "add", ns);
      namespaces.add(ns);
      ok(in(ns, "ip", "link", "set", "lo", "up"));
    }
    ok("ip", "link", "add", "c0", "netns", client, "type", "veth", "peer", "name", "pc", "netns", cp);
    ok("ip", "link", "add", "s0", "netns", server, "type", "veth", "peer", "name", "ps", "netns", cp);
    ok("ip", "-n", client, "addr", "add", "10.77.1.2/24", "dev", "c0");
    ok("ip", "-n", cp, "addr", "add", "10.77.1.1/24", "dev", "pc");
    ok("ip", "-n", cp, "addr", "add", "10.77.2.1/24", "dev", "ps");
    ok("ip", "-n", server, "addr", "add", "10.77.2.2/24", "dev", "s0");
    for (String[] dev : new String[][] {{client, "c0"}, {cp, "pc"}, {cp, "ps"}, {server, "s0"}}) {
      ok("ip", "-n", dev[0], "link", "set", dev[1], "up");
    }
    ok("ip", "-n", client, "route", "add", "default", "via", "10.77.1.1");
    ok("ip", "-n", server, "route", "add", "default", "via", "10.77.2.1");
    ok(in(cp, "sysctl", "-qw", "net.ipv4.ip_forward=1"));
  }

  @AfterEach
  void tearDown() throws IOException {
    processes.forEach(Process::destroyForcibly);
    for (Process p : processes) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (String ns : namespaces) {
      run(List.of("ip", "netns", "del", ns), 20);
    }
    if (dir != null) {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  private static String missingPrerequisite() {
    if (run(List.of("sh", "-c", "[ \"$(id -u)\" = 0 ]"), 10).exit() != 0) {
      return "needs root (network namespaces and iptables)";
    }
    for (String tool : List.of("ip", "iptables-restore", "setpriv", "curl", "sysctl")) {
      if (run(List.of("sh", "-c", "command -v " + tool), 10).exit() != 0) {
        return tool + " is not installed";
      }
    }
    return Files.isExecutable(Path.of(PYTHON)) ? null : PYTHON + " is missing";
  }

  /** Starts {@code command} in {@code ns}, its output in {@code name}.log; killed by tearDown. */
  private Process start(String ns, String name, String... command) throws IOException {
    Process p = new ProcessBuilder(in(ns, command)).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile())
        .start();
    processes.add(p);
    return p;
  }

  /** Runs {@code command} in {@code ns} until its output contains {@code expected} (30 s at most); returns that output. */
  private String awaitOutput(String ns, String expected, String... command) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last = "";
    while (System.nanoTime() < deadline) {
      last = run(in(ns, command), 10).out();
      if (last.contains(expected)) {
        return last;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no '" + expected + "' from " + String.join(" ", command) + " in " + ns + " after 30 s: "
        + last + logs());
  }

  /** Every started process's output, for failure messages. */
  private String logs() throws IOException {
    StringBuilder logs = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        logs.append("\n--- ").append(p.getFileName()).append('\n').append(Files.readString(p));
      }
    }
    return logs.toString();
  }

  private static String[] keelson(String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED",
        // Start-up dominates on a busy CI machine: C1 only, the serial collector.
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        KeelsonMain.class.getName()));
    command.addAll(List.of(args));
    return command.toArray(new String[0]);
  }

  private static List<String> in(String ns, String... command) {
    List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    all.addAll(List.of(command));
    return all;
  }

  private static void ok(String... command) {
    ok(List.of(command));
  }

  private static void ok(List<String> command) {
    Result r = run(command, 30);
    if (r.exit() != 0) {
      throw new AssertionError("exit " + r.exit() + " from " + String.join(" ", command) + ":\n" + r.out());
    }
  }

  record Result(int exit, String out) {}

  private static Result run(List<String> command, long timeoutSeconds) {
    try {
      Path out = Files.createTempFile("keelson-mesh", ".out");
      try {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new AssertionError("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
