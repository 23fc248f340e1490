package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;

import io.keelson.control.cli.KeelsonMain;
import io.keelson.testkit.Shell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The network namespaces, processes and helpers of the captured-mesh end-to-end tests ({@link CapturedMeshTest},
 * {@link CapturedStreamMeshTest}):
 *
 * <pre>
 * client ns (10.77.1.2) ── veth ── cp ns (10.77.1.1 | 10.77.2.1 | 10.77.3.1, forwarding) ── veth ── server ns k (10.77.(k+2).2)
 * </pre>
 *
 * {@link #close()} kills what it started and removes the namespaces (and with them the iptables rules, which live only
 * there) and the temporary directory, even after a failure. Commands run through {@link Shell}. Used by one test thread
 * at a time.
 */
final class CapturedMesh implements AutoCloseable {
  static final String PYTHON = "/usr/bin/python3";
  static final String API = "http://10.77.1.1:15014";
  static final String[] APP_USER = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  /** The client namespace's own Service (its sidecar registers as frontend:8000), a YAML document. */
  static final String FRONTEND_SERVICE = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec: { ports: [ { name: http, port: 8000 } ] }
      """;

  private final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
  final String client = "kmc-" + suffix;
  final String cp = "kmp-" + suffix;
  private final List<String> servers = new ArrayList<>();
  private final List<String> namespaces = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private final List<Path> netnsConfig = new ArrayList<>();
  Path dir;

  /** Skips the calling test (the reason printed) without root or the tools; else the temporary directory. */
  static CapturedMesh create(String testName, String... extraTools) throws IOException {
    String missing = missingPrerequisite();
    for (String tool : extraTools) {
      if (missing == null && run(List.of("sh", "-c", "command -v " + tool), 10).exit() != 0) {
        missing = tool + " is not installed";
      }
    }
    if (missing != null) {
      System.err.println(testName + " skipped: " + missing);
    }
    Assumptions.assumeTrue(missing == null, missing);
    CapturedMesh mesh = new CapturedMesh();
    mesh.dir = Files.createTempDirectory("keelson-mesh-");
    return mesh;
  }

  /** Server namespace k (0-based), at 10.77.(k+2).2. */
  String server(int k) {
    return servers.get(k);
  }

  static String serverAddress(int k) {
    return "10.77." + (k + 2) + ".2";
  }

  /** The client, control-plane and {@code serverCount} server namespaces, linked through the control plane's. */
  void topology(int serverCount) {
    for (int k = 0; k < serverCount; k++) {
      servers.add("kms" + k + "-" + suffix);
    }
    List<String> all = new ArrayList<>(List.of(client, cp));
    all.addAll(servers);
    for (String ns : all) {
      Shell.ok("ip", "netns", "add", ns);
      namespaces.add(ns);
      Shell.okIn(ns, "ip", "link", "set", "lo", "up");
    }
    Shell.ok("ip", "link", "add", "c0", "netns", client, "type", "veth", "peer", "name", "pc", "netns", cp);
    Shell.ok("ip", "-n", client, "addr", "add", "10.77.1.2/24", "dev", "c0");
    Shell.ok("ip", "-n", cp, "addr", "add", "10.77.1.1/24", "dev", "pc");
    Shell.ok("ip", "-n", client, "link", "set", "c0", "up");
    Shell.ok("ip", "-n", cp, "link", "set", "pc", "up");
    Shell.ok("ip", "-n", client, "route", "add", "default", "via", "10.77.1.1");
    for (int k = 0; k < serverCount; k++) {
      String ns = servers.get(k);
      String peer = "ps" + k;
      Shell.ok("ip", "link", "add", "s0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", cp);
      Shell.ok("ip", "-n", cp, "addr", "add", "10.77." + (k + 2) + ".1/24", "dev", peer);
      Shell.ok("ip", "-n", ns, "addr", "add", serverAddress(k) + "/24", "dev", "s0");
      Shell.ok("ip", "-n", ns, "link", "set", "s0", "up");
      Shell.ok("ip", "-n", cp, "link", "set", peer, "up");
      Shell.ok("ip", "-n", ns, "route", "add", "default", "via", "10.77." + (k + 2) + ".1");
    }
    Shell.okIn(cp, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  }

  /** Server namespace k's IPv6 address, after {@link #ipv6}: fd77:(k+2)::2 (ULA, only inside these namespaces). */
  static String serverAddress6(int k) {
    return "fd77:" + (k + 2) + "::2";
  }

  /**
   * Makes the {@link #topology} dual-stack: fd77:1::2 (client) and {@link #serverAddress6} on the veths beside their
   * IPv4 addresses, the control-plane namespace routing IPv6 between them. {@code nodad}: usable at once.
   */
  void ipv6() {
    Shell.ok("ip", "-n", client, "-6", "addr", "add", "fd77:1::2/64", "dev", "c0", "nodad");
    Shell.ok("ip", "-n", cp, "-6", "addr", "add", "fd77:1::1/64", "dev", "pc", "nodad");
    Shell.ok("ip", "-n", client, "-6", "route", "add", "default", "via", "fd77:1::1");
    for (int k = 0; k < servers.size(); k++) {
      Shell.ok("ip", "-n", cp, "-6", "addr", "add", "fd77:" + (k + 2) + "::1/64", "dev", "ps" + k, "nodad");
      Shell.ok("ip", "-n", servers.get(k), "-6", "addr", "add", serverAddress6(k) + "/64", "dev", "s0", "nodad");
      Shell.ok("ip", "-n", servers.get(k), "-6", "route", "add", "default", "via", "fd77:" + (k + 2) + "::1");
    }
    Shell.okIn(cp, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
  }

  /** {@code bin/keelson control} in the control-plane namespace on its config directory, holding {@code policies}. */
  void control(String policies) throws IOException {
    control(policies, new String[0]);
  }

  /** As {@link #control(String)}, with more {@code bin/keelson control} flags (e.g. the telemetry ones). */
  void control(String policies, String... flags) throws IOException {
    Files.writeString(dir.resolve("services.yaml"), policies);
    // Bound to 10.77.1.1 (routed from every side): the secure port's certificate names its bind address.
    List<String> args = new ArrayList<>(List.of("control", "--bind", "10.77.1.1", "--xds-port", "15010", "--api-port",
        "15014", "--config-dir", dir.toString()));
    args.addAll(List.of(flags));
    start(cp, "control", keelson(args.toArray(String[]::new)));
  }

  /** istio-init's part ({@code bin/keelson iptables}) in the client and every server namespace at once. */
  void iptables() throws Exception {
    iptables(List.of());
  }

  /** As {@link #iptables()}, the client's run with {@code clientExtra} flags too (e.g. {@code --redirect-dns}). */
  void iptables(List<String> clientExtra) throws Exception {
    iptables(clientExtra, List.of());
  }

  /** As {@link #iptables(List)}, every run with {@code everyExtra} flags too (e.g. {@code --ipv6}). */
  void iptables(List<String> clientExtra, List<String> everyExtra) throws Exception {
    List<String> workloads = new ArrayList<>(List.of(client));
    workloads.addAll(servers);
    List<Process> iptables = new ArrayList<>();
    for (String ns : workloads) {
      List<String> args = new ArrayList<>(List.of("iptables", "--proxy-uid", "0"));
      args.addAll(everyExtra);
      if (ns.equals(client)) {
        args.addAll(clientExtra);
      }
      iptables.add(start(ns, "iptables-" + ns, keelson(args.toArray(new String[0]))));
    }
    for (Process p : iptables) {
      assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as("bin/keelson iptables: " + logs()).isTrue();
    }
  }

  /**
   * Gives namespace {@code ns} its own {@code /etc/resolv.conf} ({@code ip netns exec} bind-mounts
   * {@code /etc/netns/NS/resolv.conf} over it for every command started in it from now on); removed by {@link #close}.
   */
  void resolvConf(String ns, String text) throws IOException {
    Path nsDir = Path.of("/etc/netns", ns);
    Files.createDirectories(nsDir);
    netnsConfig.add(nsDir);
    Files.writeString(nsDir.resolve("resolv.conf"), text);
  }

  /** The control plane's root certificate, once its API answers (so sidecars started now connect at once). */
  String awaitRootPem() throws Exception {
    return awaitOutput(cp, "-----END CERTIFICATE-----", "curl", "-sf", API + "/v1/ca/root");
  }

  /** xDS over the secure port with a join token for service account {@code sa} of namespace default (its Services'). */
  List<String> secureXds(Path root, String sa) throws IOException {
    Shell.Result token = run(in(cp, "curl", "-sf", "-X", "POST", "-H", "content-type: application/json", "-d",
        "{\"namespace\":\"default\",\"serviceAccount\":\"" + sa + "\"}", API + "/v1/tokens"), 30);
    assertThat(token.exit()).as(token.out()).isZero();
    var value = java.util.regex.Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"").matcher(token.out());
    assertThat(value.find()).as(token.out()).isTrue();
    Path file = dir.resolve(sa + ".token");
    Files.writeString(file, value.group(1) + "\n");
    return List.of("--xds", "10.77.1.1:15012", "--xds-root-ca", root.toString(), "--token-file", file.toString());
  }

  static String[] sidecar(List<String> xds, String service, String appPort, String address, String... extra) {
    List<String> args = new ArrayList<>(List.of("proxy"));
    args.addAll(xds);
    args.addAll(List.of("--service", service, "--app-port", appPort, "--capture", "iptables", "--address", address,
        "--concurrency", "1"));
    args.addAll(List.of(extra));
    return keelson(args.toArray(new String[0]));
  }

  /** A counter from a sidecar's admin /stats ({@code name: value}); -1 when absent. */
  long stat(String ns, String name) {
    String all = run(in(ns, "curl", "-s", "http://127.0.0.1:9901/stats"), 10).out();
    return all.lines().filter(l -> l.startsWith(name + ": ")).mapToLong(l -> Long.parseLong(l.substring(name.length() + 2).strip()))
        .findFirst().orElse(-1);
  }

  /** The sum of a sidecar's admin /stats counters whose names start with {@code listener.} and end with {@code suffix}. */
  long statSum(String ns, String suffix) {
    String all = run(in(ns, "curl", "-s", "http://127.0.0.1:9901/stats"), 10).out();
    String prefix = suffix.startsWith(".") ? "listener." : "";
    return all.lines().filter(l -> l.contains(": ")).filter(l -> {
      String name = l.substring(0, l.indexOf(": "));
      return name.startsWith(prefix) && name.endsWith(suffix);
    }).mapToLong(l -> Long.parseLong(l.substring(l.indexOf(": ") + 2).strip())).sum();
  }

  static int count(String text, String part) {
    int n = 0;
    for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
      n++;
    }
    return n;
  }

  static String[] appUser(String... command) {
    List<String> all = new ArrayList<>(List.of(APP_USER));
    all.addAll(List.of(command));
    return all.toArray(new String[0]);
  }

  /** curl (at most 5 s) as the app's user in the client namespace, with {@code args}. */
  Shell.Result appCurl(String... args) {
    return curl(5, List.of(args));
  }

  /** curl (at most {@code maxSeconds}) as the app's user in the client namespace, with {@code --resolve resolve}. */
  Shell.Result appCurl(int maxSeconds, String resolve, String... args) {
    List<String> all = new ArrayList<>(List.of("--resolve", resolve));
    all.addAll(List.of(args));
    return curl(maxSeconds, all);
  }

  private Shell.Result curl(int maxSeconds, List<String> args) {
    List<String> command = new ArrayList<>(List.of(APP_USER));
    command.addAll(List.of("curl", "-s", "--max-time", String.valueOf(maxSeconds)));
    command.addAll(args);
    return run(in(client, command.toArray(new String[0])), 2 * maxSeconds + 10);
  }

  static String missingPrerequisite() {
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
  Process start(String ns, String name, String... command) throws IOException {
    Process p = new ProcessBuilder(in(ns, command)).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile())
        .start();
    processes.add(p);
    return p;
  }

  /** Runs {@code command} in {@code ns} until its output contains {@code expected} (30 s at most); returns that output. */
  String awaitOutput(String ns, String expected, String... command) throws Exception {
    return awaitOutput(ns, expected, 30, command);
  }

  /** As {@link #awaitOutput(String, String, String...)}, waiting {@code seconds} at most (JVMs starting on a busy machine). */
  String awaitOutput(String ns, String expected, int seconds, String... command) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    String last = "";
    while (System.nanoTime() < deadline) {
      last = run(in(ns, command), 10).out();
      if (last.contains(expected)) {
        return last;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no '" + expected + "' from " + String.join(" ", command) + " in " + ns + " after " + seconds + " s: "
        + last + logs());
  }

  /** Every started process's output, for failure messages. */
  String logs() throws IOException {
    StringBuilder logs = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        logs.append("\n--- ").append(p.getFileName()).append('\n').append(Files.readString(p));
      }
    }
    return logs.toString();
  }

  static String[] keelson(String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED",
        // Start-up dominates on a busy CI machine: C1 only, the serial collector.
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        KeelsonMain.class.getName()));
    command.addAll(List.of(args));
    return command.toArray(new String[0]);
  }

  @Override
  public void close() throws IOException {
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
    for (Path nsDir : netnsConfig) {
      Files.deleteIfExists(nsDir.resolve("resolv.conf"));
      Files.deleteIfExists(nsDir);
    }
    if (dir != null) {
      try (var files = Files.walk(dir)) {
        for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
