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
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * DRAFT, disabled: the end-to-end test of traffic capture through both halves (this control-plane
 * half and the data plane's original_dst support). Enable it once both are merged. Run on the
 * control-plane half alone (2026-12-06) it gets as far as expected: namespaces, control plane,
 * iptables in both, both sidecars registered at their pod addresses and translated for; then the
 * sidecars NACK what the data plane does not run yet (first: {@code
 * Cluster[InboundPassthroughCluster].upstream_bind_config}), so the per-port listener never appears.
 * The data plane must accept original_dst, use_original_dst, bind_to_port: false,
 * filter_chain_match.destination_port, ORIGINAL_DST/CLUSTER_PROVIDED and upstream_bind_config.source_address.
 *
 * <pre>
 * client ns (10.77.1.2) ── veth ── cp ns (10.77.1.1 | 10.77.2.1, forwarding; bin/keelson control) ── veth ── server ns (10.77.2.2)
 *   bin/keelson iptables --proxy-uid 0                                                                 bin/keelson iptables --proxy-uid 0
 *   sidecar --capture iptables (root)                                                                  sidecar --capture iptables (root)
 *   curl as uid 65534: http://reviews:9080 (--resolve to 10.77.2.2)                                   app (uid 65534) on 127.0.0.1:9080;
 *                                                                                                      a plain TCP server on :7000
 * </pre>
 *
 * The sidecars run as root because the classpath under /root is not readable by another user; the
 * app side runs as uid 65534. Shows: an unmodified client's request to a service name lands in the
 * app through both sidecars (the client sidecar's {@code x-envoy-attempt-count}, the app's peer is the
 * server sidecar at 127.0.0.1); a connection to a port no service has goes through both passthroughs.
 */
@Disabled("needs the data-plane half")
class CapturedMeshDraftTest {
  private static final String PYTHON = "/usr/bin/python3";
  private static final String ECHO_APP = """
      import http.server
      class H(http.server.BaseHTTPRequestHandler):
          def do_GET(self):
              body = ("peer=" + self.client_address[0] + "\\n" + str(self.headers)).encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
      http.server.HTTPServer(("127.0.0.1", 9080), H).serve_forever()
      """;
  private static final String HELLO_SERVER = """
      import socket
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 7000)); s.listen(8)
      while True:
          c, _ = s.accept(); c.sendall(b"hello from 7000\\n"); c.close()
      """;
  private static final String TCP_CLIENT = """
      import socket
      s = socket.create_connection(("10.77.2.2", 7000), timeout=5)
      print(s.recv(100).decode().strip())
      """;

  private final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
  private final String client = "kmc-" + suffix;
  private final String cp = "kmp-" + suffix;
  private final String server = "kms-" + suffix;
  private final List<String> namespaces = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private Path dir;

  @Test
  void anUnmodifiedClientReachesAServiceByNameThroughBothCapturedSidecars() throws Exception {
    String missing = missingPrerequisite();
    if (missing != null) {
      System.err.println("CapturedMeshDraftTest skipped: " + missing);
    }
    Assumptions.assumeTrue(missing == null, missing);
    dir = Files.createTempDirectory("keelson-mesh-");
    topology();
    Files.writeString(dir.resolve("services.yaml"), """
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
        """);
    start(cp, "control", keelson("control", "--bind", "0.0.0.0", "--xds-port", "15010", "--api-port", "15014",
        "--config-dir", dir.toString()));
    for (String ns : List.of(client, server)) {
      Result r = run(in(ns, keelson("iptables", "--proxy-uid", "0")), 60);
      assertThat(r.exit()).as(r.out()).isZero();
    }
    start(server, "app", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c", ECHO_APP);
    start(server, "hello", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c", HELLO_SERVER);
    start(server, "server-sidecar", keelson("proxy", "--xds", "10.77.2.1:15010", "--service", "reviews",
        "--app-port", "9080", "--capture", "iptables", "--address", "10.77.2.2", "--concurrency", "1"));
    start(client, "client-sidecar", keelson("proxy", "--xds", "10.77.1.1:15010", "--service", "frontend",
        "--app-port", "8000", "--capture", "iptables", "--address", "10.77.1.2", "--concurrency", "1"));

    // The client sidecar has the per-port listener (its LDS was accepted), the server sidecar its virtualInbound.
    awaitOutput(client, "0.0.0.0_9080", "curl", "-s", "http://127.0.0.1:9901/listeners");
    awaitOutput(server, "virtualInbound", "curl", "-s", "http://127.0.0.1:9901/listeners");

    Result request = run(in(client, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-s",
        "--max-time", "5", "--resolve", "reviews:9080:10.77.2.2", "http://reviews:9080/hello"), 20);
    assertThat(request.exit()).as(request.out()).isZero();
    assertThat(request.out()).as("through the client sidecar (its attempt count) and the server sidecar (the peer)")
        .containsIgnoringCase("x-envoy-attempt-count: 1").contains("peer=127.0.0.1");

    Result passthrough = run(in(client, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c",
        TCP_CLIENT), 20);
    assertThat(passthrough.exit()).as(passthrough.out()).isZero();
    assertThat(passthrough.out()).contains("hello from 7000");
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
  private void start(String ns, String name, String... command) throws IOException {
    processes.add(new ProcessBuilder(in(ns, command)).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile())
        .start());
  }

  private void awaitOutput(String ns, String expected, String... command) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last = "";
    while (System.nanoTime() < deadline) {
      last = run(in(ns, command), 10).out();
      if (last.contains(expected)) {
        return;
      }
      Thread.sleep(200);
    }
    StringBuilder logs = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".log")).toList()) {
        logs.append("\n--- ").append(p.getFileName()).append('\n').append(Files.readString(p));
      }
    }
    throw new AssertionError("no '" + expected + "' from " + String.join(" ", command) + " in " + ns + " after 30 s: "
        + last + logs);
  }

  private static String[] keelson(String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName()));
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
