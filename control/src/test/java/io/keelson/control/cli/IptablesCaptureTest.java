package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.testkit.Shell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/keelson iptables} (the Java entry point, as a separate process) in a network namespace
 * this test creates: a veth to nowhere makes 10.9.9.9 routable (not local); a plain TCP server on
 * :15001 answers with the connection's SO_ORIGINAL_DST. An app's connection (uid 65534) to
 * 10.9.9.9:80 lands on :15001 with 10.9.9.9:80 as its original destination; the proxy's (uid 1337)
 * is not redirected. {@code --dry-run} changes nothing; a re-run replaces; {@code --cleanup} restores
 * the table exactly. Skipped, with the reason printed, without root, ip, iptables or setpriv.
 */
class IptablesCaptureTest {
  private static final String PYTHON = "/usr/bin/python3";
  private static final int PROXY_UID = 1337;
  // Accepts connections on :15001 and answers each with its original destination (what the data plane's
  // original_dst listener filter reads), then closes it.
  private static final String ORIGINAL_DST_SERVER = """
      import socket, struct, sys
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 15001)); s.listen(16); print("listening", flush=True)
      while True:
          c, peer = s.accept()
          raw = c.getsockopt(socket.SOL_IP, 80, 16)  # SO_ORIGINAL_DST: a sockaddr_in
          port, = struct.unpack("!H", raw[2:4])
          dst = socket.inet_ntoa(raw[4:8]) + ":" + str(port)
          print("accepted", dst, flush=True)
          c.sendall(("landed-on-15001 original-dst=" + dst + "\\n").encode()); c.close()
      """;
  private static final String CLIENT = """
      import socket
      s = socket.create_connection(("10.9.9.9", 80), timeout=2)
      print(s.recv(100).decode().strip())
      """;

  /** As ORIGINAL_DST_SERVER on [::]:15001 for IPv6: IP6T_SO_ORIGINAL_DST (SOL_IPV6, 80) is a sockaddr_in6. */
  private static final String ORIGINAL_DST_SERVER6 = """
      import socket, struct
      s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
      s.bind(("::", 15001)); s.listen(16); print("listening", flush=True)
      while True:
          c, peer = s.accept()
          raw = c.getsockopt(socket.IPPROTO_IPV6, 80, 28)
          port, = struct.unpack("!H", raw[2:4])
          dst = "[" + socket.inet_ntop(socket.AF_INET6, raw[8:24]) + "]:" + str(port)
          print("accepted", dst, flush=True)
          c.sendall(("landed-on-15001 original-dst=" + dst + "\\n").encode()); c.close()
      """;
  private static final String CLIENT6 = """
      import socket
      s = socket.create_connection(("fd09::9", 80), timeout=2)
      print(s.recv(100).decode().strip())
      """;

  /** A stand-in DNS proxy on 127.0.0.1:15153 (UDP): answers every datagram with "dns-proxy got N bytes". */
  private static final String UDP_SERVER = """
      import socket
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 15153)); print("listening", flush=True)
      while True:
          q, peer = s.recvfrom(512); s.sendto(("dns-proxy got %d bytes" % len(q)).encode(), peer)
      """;
  private static final String UDP_CLIENT = """
      import socket
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
      s.sendto(b"query", ("10.9.9.9", 53))
      print(s.recvfrom(100)[0].decode())
      """;

  private final String ns = "kcap-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
  private Path dir;
  private Process server;
  private boolean created;

  @BeforeEach
  void namespace() throws IOException {
    String missing = missingPrerequisite();
    if (missing != null) {
      System.err.println("IptablesCaptureTest skipped: " + missing);
    }
    Assumptions.assumeTrue(missing == null, missing);
    dir = Files.createTempDirectory("keelson-capture-");
    Shell.ok("ip", "netns", "add", ns);
    created = true;
    okIn("ip", "link", "set", "lo", "up");
    // A link to nowhere (a veth whose peer has no address; no dummy module in CI's kernel): 10.9.9.9 is
    // routable, not local, and nothing ever answers there.
    okIn("ip", "link", "add", "kv0", "type", "veth", "peer", "name", "kv1");
    okIn("ip", "addr", "add", "10.9.9.1/24", "dev", "kv0");
    okIn("ip", "link", "set", "kv0", "up");
    okIn("ip", "link", "set", "kv1", "up");
  }

  @AfterEach
  void removeNamespace() throws IOException {
    if (server != null) {
      server.destroyForcibly();
    }
    if (created) {
      Shell.run(List.of("ip", "netns", "del", ns), 20);
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

  @Test
  void redirectsAnAppsOutboundConnectionToTheOutboundPortButNotTheProxysOwn() throws Exception {
    String before = nat();

    // --dry-run prints the restore input and installs nothing.
    Shell.Result dry = keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--dry-run");
    assertThat(dry.exit()).as(dry.out()).isZero();
    assertThat(dry.out()).contains("*nat", ":KEELSON_OUTPUT - [0:0]", "-A OUTPUT -p tcp -j KEELSON_OUTPUT",
        "-A KEELSON_OUTPUT -m owner --uid-owner 1337 -j RETURN", "-A KEELSON_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
        "-A KEELSON_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006", "COMMIT");
    assertThat(nat()).isEqualTo(before);

    Shell.Result install = keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID));
    assertThat(install.exit()).as(install.out()).isZero();
    String installed = nat();
    assertThat(installed).contains("-A OUTPUT -p tcp -j KEELSON_OUTPUT", "-A PREROUTING -p tcp -j KEELSON_INBOUND",
        "-A KEELSON_INBOUND -p tcp -m tcp --dport 9901 -j RETURN");
    // A second run replaces the rules rather than adding a second copy.
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID)).exit()).isZero();
    assertThat(nat()).isEqualTo(installed);

    server = new ProcessBuilder(in(PYTHON, "-c", ORIGINAL_DST_SERVER)).redirectErrorStream(true)
        .redirectOutput(dir.resolve("server.log").toFile()).start();
    awaitLine(dir.resolve("server.log"), "listening");

    Shell.Result app = Shell.run(in("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c", CLIENT),
        20);
    assertThat(app.exit()).as(app.out()).isZero();
    assertThat(app.out()).contains("landed-on-15001 original-dst=10.9.9.9:80");

    Shell.Result proxy = Shell.run(in("setpriv", "--reuid=" + PROXY_UID, "--regid=" + PROXY_UID, "--clear-groups", PYTHON, "-c",
        CLIENT), 20);
    assertThat(proxy.exit()).as("the proxy's connection goes out to the silent link: " + proxy.out()).isNotZero();
    // Nothing answers on the link: the connect times out (or ARP gives up first on a slow machine).
    assertThat(proxy.out()).doesNotContain("landed-on-15001").containsAnyOf("timed out", "No route to host");
    assertThat(Files.readString(dir.resolve("server.log")).lines().filter(l -> l.startsWith("accepted")).count())
        .isEqualTo(1);

    Shell.Result cleanup = keelson("iptables", "--cleanup");
    assertThat(cleanup.exit()).as(cleanup.out()).isZero();
    assertThat(nat()).isEqualTo(before);
    Shell.Result again = keelson("iptables", "--cleanup");
    assertThat(again.exit()).isZero();
    assertThat(again.out()).contains("nothing to remove");
  }

  @Test
  void cleanupLeavesOtherRulesAndIncludedPortsAndCidrsShapeTheRules() throws Exception {
    // Someone else's nat rule is left alone by install and cleanup.
    okIn("iptables", "-t", "nat", "-A", "OUTPUT", "-d", "10.1.2.3/32", "-p", "tcp", "-j", "RETURN");
    String before = nat();
    Shell.Result install = keelson("iptables", "--proxy-gid", "1337", "--include-inbound-ports", "8080,9090",
        "--exclude-outbound-ports", "5432", "--exclude-outbound-cidrs", "169.254.169.254",
        "--include-outbound-cidrs", "10.0.0.0/8", "--inbound-port", "15106", "--outbound-port", "15101");
    assertThat(install.exit()).as(install.out()).isZero();
    assertThat(nat()).contains(
        "-A KEELSON_INBOUND -p tcp -m tcp --dport 8080 -j KEELSON_IN_REDIRECT",
        "-A KEELSON_INBOUND -p tcp -m tcp --dport 9090 -j KEELSON_IN_REDIRECT",
        "-A KEELSON_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN",
        "-A KEELSON_OUTPUT -m owner --gid-owner 1337 -j RETURN",
        "-A KEELSON_OUTPUT -d 169.254.169.254/32 -j RETURN",
        "-A KEELSON_OUTPUT -d 10.0.0.0/8 -j KEELSON_REDIRECT",
        "-A KEELSON_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15106",
        "-A KEELSON_REDIRECT -p tcp -j REDIRECT --to-ports 15101",
        "-A OUTPUT -d 10.1.2.3/32 -p tcp -j RETURN").doesNotContain("-A KEELSON_OUTPUT -j KEELSON_REDIRECT");
    assertThat(keelson("iptables", "--cleanup").exit()).isZero();
    assertThat(nat()).isEqualTo(before);
  }

  @Test
  void redirectDnsSendsTheAppsPort53ToTheDnsPortButNotTheProxysAndReRunsAndCleanupRemoveIt() throws Exception {
    String before = nat();
    Shell.Result install = keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--redirect-dns",
        "--dns-port", "15153");
    assertThat(install.exit()).as(install.out()).isZero();
    assertThat(nat()).contains("-A OUTPUT -p udp -m udp --dport 53 -j KEELSON_DNS",
        "-A KEELSON_DNS -m owner --uid-owner 1337 -j RETURN",
        "-A KEELSON_DNS -p udp -j REDIRECT --to-ports 15153",
        "-A KEELSON_DNS -p tcp -j REDIRECT --to-ports 15153",
        "-A KEELSON_OUTPUT -p tcp -m tcp --dport 53 -j KEELSON_DNS");

    server = new ProcessBuilder(in(PYTHON, "-c", UDP_SERVER)).redirectErrorStream(true)
        .redirectOutput(dir.resolve("dns.log").toFile()).start();
    awaitLine(dir.resolve("dns.log"), "listening");
    Shell.Result app = Shell.run(in("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c",
        UDP_CLIENT), 20);
    assertThat(app.out()).as("the app's query to 10.9.9.9:53 lands on the DNS port").contains("dns-proxy got 5 bytes");
    Shell.Result proxy = Shell.run(in("setpriv", "--reuid=" + PROXY_UID, "--regid=" + PROXY_UID, "--clear-groups",
        PYTHON, "-c", UDP_CLIENT), 20);
    assertThat(proxy.exit()).as("the proxy's own query goes out to the silent link: " + proxy.out()).isNotZero();
    assertThat(proxy.out()).doesNotContain("dns-proxy");

    // A re-run without --redirect-dns takes the DNS rules out; cleanup restores the table exactly.
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID)).exit()).isZero();
    assertThat(nat()).doesNotContain("KEELSON_DNS").contains("-A OUTPUT -p tcp -j KEELSON_OUTPUT");
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--redirect-dns").exit()).isZero();
    assertThat(nat()).contains("-A KEELSON_DNS -p udp -j REDIRECT --to-ports 15053");
    assertThat(keelson("iptables", "--cleanup").exit()).isZero();
    assertThat(nat()).isEqualTo(before);
  }

  @Test
  void ipv6WritesTheSameRulesWithIp6tablesAndCleanupRemovesBothFamilies() throws Exception {
    Assumptions.assumeTrue(Shell.onPath("ip6tables-restore") && Shell.onPath("ip6tables-save"), "no ip6tables here");
    okIn("ip", "-6", "addr", "add", "fd09::1/64", "dev", "kv0", "nodad");
    String before = nat();
    String before6 = nat6();
    Shell.Result dry = keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--ipv6", "--dry-run");
    assertThat(dry.exit()).as(dry.out()).isZero();
    assertThat(dry.out()).contains("# iptables-restore --noflush", "# ip6tables-restore --noflush",
        "-A KEELSON_OUTPUT -s ::6/128 -o lo -j RETURN", "-A KEELSON_OUTPUT -d ::1/128 -j RETURN");
    assertThat(nat6()).isEqualTo(before6);

    Shell.Result install = keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--ipv6",
        "--exclude-outbound-cidrs", "fd09::99,10.9.9.99");
    assertThat(install.exit()).as(install.out()).isZero();
    String installed6 = nat6();
    assertThat(installed6).contains("-A OUTPUT -p tcp -j KEELSON_OUTPUT", "-A PREROUTING -p tcp -j KEELSON_INBOUND",
        "-A KEELSON_OUTPUT -s ::6/128 -o lo -j RETURN", "-A KEELSON_OUTPUT -d fd09::99/128 -j RETURN")
        .doesNotContain("10.9.9.99");
    assertThat(nat()).contains("-A KEELSON_OUTPUT -d 10.9.9.99/32 -j RETURN").doesNotContain("fd09");
    assertThat(okIn("ip", "-6", "addr", "show", "dev", "lo")).as("the IPv6 inbound passthrough source").contains("::6/128");
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--ipv6",
        "--exclude-outbound-cidrs", "fd09::99,10.9.9.99").exit()).as("a re-run").isZero();
    assertThat(nat6()).isEqualTo(installed6);
    // A run without --ipv6 takes the earlier run's IPv6 chains out (they would keep another proxy uid's rules).
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--exclude-outbound-cidrs",
        "10.9.9.99").exit()).isZero();
    assertThat(nat6()).isEqualTo(before6);
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID), "--ipv6",
        "--exclude-outbound-cidrs", "fd09::99,10.9.9.99").exit()).isZero();
    assertThat(nat6()).isEqualTo(installed6);

    server = new ProcessBuilder(in(PYTHON, "-c", ORIGINAL_DST_SERVER6)).redirectErrorStream(true)
        .redirectOutput(dir.resolve("server6.log").toFile()).start();
    awaitLine(dir.resolve("server6.log"), "listening");
    Shell.Result app = Shell.run(in("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-c",
        CLIENT6), 20);
    assertThat(app.out()).as(app.out()).contains("landed-on-15001 original-dst=[fd09::9]:80");
    Shell.Result proxy = Shell.run(in("setpriv", "--reuid=" + PROXY_UID, "--regid=" + PROXY_UID, "--clear-groups",
        PYTHON, "-c", CLIENT6), 20);
    assertThat(proxy.out()).as("the proxy's own IPv6 connection is not redirected").doesNotContain("landed-on-15001");

    Shell.Result cleanup = keelson("iptables", "--cleanup");
    assertThat(cleanup.exit()).as(cleanup.out()).isZero();
    assertThat(nat()).isEqualTo(before);
    assertThat(nat6()).isEqualTo(before6);
  }

  @Test
  void cleanupRemovesTheIpv4RulesWhereIp6tablesCannotReadAnIpv6NatTable() throws Exception {
    String before = nat();
    assertThat(keelson("iptables", "--proxy-uid", String.valueOf(PROXY_UID)).exit()).isZero();
    // A kernel without IPv6 nat (no ip6table_nat, ipv6.disable=1): ip6tables-save is installed but fails. The test
    // cannot unload a module of the shared host, so an ip6tables-save first on PATH fails as that one does.
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path save6 = bin.resolve("ip6tables-save");
    Files.writeString(save6, "#!/bin/sh\necho \"ip6tables-save v1.8.9 (nf_tables): table 'nat' does not exist\" >&2\n"
        + "exit 1\n");
    save6.toFile().setExecutable(true);
    List<String> command = new ArrayList<>(List.of("env", "PATH=" + bin + ":" + System.getenv("PATH")));
    command.addAll(javaKeelson("iptables", "--cleanup"));
    Shell.Result cleanup = Shell.run(in(command.toArray(new String[0])), 60);
    assertThat(cleanup.exit()).as(cleanup.out()).isZero();
    assertThat(nat()).isEqualTo(before);
    Files.delete(save6);
    Files.delete(bin);
  }

  private String nat6() {
    return okIn("ip6tables-save", "-t", "nat").lines().filter(l -> !l.startsWith("#"))
        .map(l -> l.replaceAll("\\[\\d+:\\d+\\]", "[0:0]")).reduce("", (a, b) -> a + b + "\n");
  }

  private static String missingPrerequisite() {
    if (!IptablesCommand.isRoot()) {
      return "needs root (network namespaces and iptables)";
    }
    for (String tool : List.of("ip", "iptables-restore", "iptables-save", "setpriv")) {
      if (!Shell.onPath(tool)) {
        return tool + " is not installed (Debian: iproute2, iptables, util-linux)";
      }
    }
    return Files.isExecutable(Path.of(PYTHON)) ? null : PYTHON + " is missing";
  }

  /** The namespace's nat table without the timestamp comments and counters. */
  private String nat() {
    return okIn("iptables-save", "-t", "nat").lines().filter(l -> !l.startsWith("#"))
        .map(l -> l.replaceAll("\\[\\d+:\\d+\\]", "[0:0]")).reduce("", (a, b) -> a + b + "\n");
  }

  /** {@code bin/keelson ARGS} as a separate JVM inside the namespace. */
  private Shell.Result keelson(String... args) {
    return Shell.run(in(javaKeelson(args).toArray(new String[0])), 60);
  }

  private static List<String> javaKeelson(String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName()));
    command.addAll(List.of(args));
    return command;
  }

  private static void awaitLine(Path log, String line) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      if (Files.exists(log) && Files.readString(log).contains(line)) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no '" + line + "' in " + log + " after 15 s: " + Files.readString(log));
  }

  private List<String> in(String... command) {
    return Shell.in(ns, command);
  }

  private String okIn(String... command) {
    return Shell.okIn(ns, command);
  }
}
