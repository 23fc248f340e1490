package io.keelson.dataplane.gateway;

import static org.awaitility.Awaitility.await;

import io.keelson.testkit.Shell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * client ns (c0 10.99.1.10) — veth — gateway ns (go | gi, no addresses: DPDK af_packet owns them;
 * a TAP the gateway creates for its own address) — veth — backend ns (b0 10.99.2.21 and .22, one
 * HTTP server on each, serving who.txt naming itself). The routed IPv6 variant puts a router namespace between
 * the gateway's inside link and the backends' own subnet. Names carry a random suffix; {@link #close()}
 * kills every process left in the namespaces and deletes them.
 */
final class NetnsTopology implements AutoCloseable {
  static final String CLIENT_IP = "10.99.1.10";
  static final String GATEWAY_OUTSIDE = "10.99.1.1";
  static final String GATEWAY_INSIDE = "10.99.2.1";
  static final String SNAT = "10.99.2.2";
  static final String VIP = "10.99.1.100";
  static final String[] BACKENDS = {"10.99.2.21", "10.99.2.22"};
  static final String[] NAMES = {"backend-a", "backend-b"};
  static final int BACKEND_PORT = 8080;
  // The IPv6 variant (new NetnsTopology(true)): the same wiring with these addresses as well.
  static final String CLIENT_IP6 = "2001:db8:99:1::10";
  static final String GATEWAY_OUTSIDE6 = "2001:db8:99:1::1";
  static final String GATEWAY_INSIDE6 = "2001:db8:99:2::1";
  static final String SNAT6 = "2001:db8:99:2::2";
  static final String VIP6 = "2001:db8::10";
  static final String[] BACKENDS6 = {"2001:db8:99:2::21", "2001:db8:99:2::22"};
  // The routed IPv6 variant (new NetnsTopology(true, true)): gi — veth — router ns (r0 | r1, forwarding) — veth —
  // backend ns, whose IPv6 addresses are then on a subnet of their own, off the gateway's links.
  static final String ROUTER_INSIDE6 = "2001:db8:99:2::fe";
  static final String ROUTER_BACKEND_SIDE6 = "2001:db8:99:3::fe";
  static final String[] ROUTED_BACKENDS6 = {"2001:db8:99:3::21", "2001:db8:99:3::22"};

  final String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
  final String client = "kc-" + suffix;
  final String gateway = "kg-" + suffix;
  final String backend = "kb-" + suffix;
  final String router = "kr-" + suffix;
  final String tap = "kt" + suffix;
  final Path dir;
  private final List<String> created = new ArrayList<>();
  private final boolean ipv6;
  private final boolean routed;

  NetnsTopology() throws IOException {
    this(false);
  }

  /** @param ipv6 also give the client and backends IPv6 addresses (and the backends' servers listen on those) */
  NetnsTopology(boolean ipv6) throws IOException {
    this(ipv6, false);
  }

  /** @param routed6 with {@code ipv6}: the backends' IPv6 subnet is behind a router namespace ({@link #ROUTED_BACKENDS6}) */
  NetnsTopology(boolean ipv6, boolean routed6) throws IOException {
    this.ipv6 = ipv6;
    this.routed = ipv6 && routed6;
    dir = Files.createTempDirectory("keelson-netns-" + suffix);
    try {
      build();
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  private void build() throws IOException {
    for (String ns : routed ? List.of(client, gateway, backend, router) : List.of(client, gateway, backend)) {
      Shell.ok("ip", "netns", "add", ns);
      created.add(ns);
      Shell.okIn(ns, "ip", "link", "set", "lo", "up");
      // No IPv6 chatter (router solicitations): the counters then show only what the tests send.
      if (!ipv6 || ns.equals(gateway)) {
        Shell.okIn(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
      }
    }
    Shell.ok("ip", "link", "add", "c0", "netns", client, "type", "veth", "peer", "name", "go", "netns", gateway);
    if (routed) {
      Shell.ok("ip", "link", "add", "r0", "netns", router, "type", "veth", "peer", "name", "gi", "netns", gateway);
      Shell.ok("ip", "link", "add", "b0", "netns", backend, "type", "veth", "peer", "name", "r1", "netns", router);
      Shell.okIn(router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
      Shell.ok("ip", "-n", router, "-6", "addr", "add", ROUTER_INSIDE6 + "/64", "dev", "r0", "nodad");
      Shell.ok("ip", "-n", router, "-6", "addr", "add", ROUTER_BACKEND_SIDE6 + "/64", "dev", "r1", "nodad");
      Shell.ok("ip", "-n", router, "link", "set", "r0", "up");
      Shell.ok("ip", "-n", router, "link", "set", "r1", "up");
    } else {
      Shell.ok("ip", "link", "add", "b0", "netns", backend, "type", "veth", "peer", "name", "gi", "netns", gateway);
    }
    Shell.ok("ip", "-n", client, "addr", "add", CLIENT_IP + "/24", "dev", "c0");
    Shell.ok("ip", "-n", client, "link", "set", "c0", "up");
    Shell.ok("ip", "-n", client, "route", "add", "default", "via", GATEWAY_OUTSIDE);
    for (String b : BACKENDS) {
      Shell.ok("ip", "-n", backend, "addr", "add", b + "/24", "dev", "b0");
    }
    Shell.ok("ip", "-n", backend, "link", "set", "b0", "up");
    Shell.ok("ip", "-n", backend, "route", "add", "default", "via", GATEWAY_INSIDE);
    if (ipv6) {
      Shell.ok("ip", "-n", client, "-6", "addr", "add", CLIENT_IP6 + "/64", "dev", "c0", "nodad");
      Shell.ok("ip", "-n", client, "-6", "route", "add", "default", "via", GATEWAY_OUTSIDE6);
      for (String b : backends6()) {
        Shell.ok("ip", "-n", backend, "-6", "addr", "add", b + "/64", "dev", "b0", "nodad");
      }
      Shell.ok("ip", "-n", backend, "-6", "route", "add", "default", "via", routed ? ROUTER_BACKEND_SIDE6 : GATEWAY_INSIDE6);
    }
    Shell.ok("ip", "-n", gateway, "link", "set", "go", "up");
    Shell.ok("ip", "-n", gateway, "link", "set", "gi", "up");
    // veth offloads would hand af_packet partial checksums and GSO super-frames; a NIC does not.
    List<String[]> devices = new ArrayList<>(List.of(new String[][] {{client, "c0"}, {backend, "b0"}, {gateway, "go"},
        {gateway, "gi"}}));
    if (routed) {
      devices.add(new String[] {router, "r0"});
      devices.add(new String[] {router, "r1"});
    }
    for (String[] dev : devices) {
      Shell.okIn(dev[0], "ethtool", "-K", dev[1], "tx", "off", "rx", "off", "gso", "off", "gro", "off", "tso", "off");
    }
    for (int i = 0; i < BACKENDS.length; i++) {
      Path root = Files.createDirectories(dir.resolve(NAMES[i]));
      Files.writeString(root.resolve("who.txt"), NAMES[i] + "\n");
      startIn(backend, dir.resolve(NAMES[i] + ".log"), python(), "-m", "http.server", String.valueOf(BACKEND_PORT),
          "--bind", ipv6 ? backends6()[i] : BACKENDS[i], "--directory", root.toString(), "--protocol", "HTTP/1.1");
    }
  }

  /** Waits until every backend's HTTP server answers (asked from inside the backend namespace). */
  void awaitServers() {
    for (String ip : ipv6 ? backends6() : BACKENDS) {
      String url = "http://" + (ipv6 ? "[" + ip + "]" : ip) + ":" + BACKEND_PORT + "/who.txt";
      await("backend " + ip + " listening").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
          .until(() -> Shell.run(Shell.in(backend, "curl", "-s", "--max-time", "1", url), 5).exit() == 0);
    }
  }

  /** The backends' IPv6 addresses: {@link #ROUTED_BACKENDS6} in the routed variant, else {@link #BACKENDS6}. */
  String[] backends6() {
    return routed ? ROUTED_BACKENDS6 : BACKENDS6;
  }

  static String python() {
    return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
  }

  /** Starts a long-running process inside {@code ns}; it is killed by {@link #close()}. */
  Process startIn(String ns, Path log, String... command) throws IOException {
    return new ProcessBuilder(Shell.in(ns, command)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  String writeBootstrap(String... backendIps) throws IOException {
    return writeBootstrapFor(VIP, backendIps);
  }

  /** An Envoy bootstrap with one tcp_proxy VIP at {@code vip}:80 on a MAGLEV cluster of {@code backendIps}:8080. */
  String writeBootstrapFor(String vip, String... backendIps) throws IOException {
    StringBuilder endpoints = new StringBuilder();
    for (String ip : backendIps) {
      endpoints.append("              - endpoint: { address: { socket_address: { address: \"")
          .append(ip).append("\", port_value: ").append(BACKEND_PORT).append(" } } }\n");
    }
    String yaml = """
        static_resources:
          listeners:
            - name: web-vip
              address:
                socket_address: { address: "%s", port_value: 80 }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: web
                        cluster: web
          clusters:
            - name: web
              lb_policy: MAGLEV
              load_assignment:
                cluster_name: web
                endpoints:
                  - lb_endpoints:
        %s""".formatted(vip, endpoints);
    Path file = dir.resolve("bootstrap.yaml");
    Path tmp = dir.resolve("bootstrap.yaml.tmp");
    Files.writeString(tmp, yaml);
    // Atomic replace: the gateway never reads a half-written file.
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return file.toString();
  }

  @Override
  public void close() {
    for (String ns : created) {
      Shell.Result pids = Shell.run(List.of("ip", "netns", "pids", ns), 10);
      for (String pid : pids.out().trim().split("\\s+")) {
        if (!pid.isEmpty()) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    }
    for (String ns : created) {
      Shell.run(List.of("ip", "netns", "del", ns), 10);
    }
    created.clear();
  }
}
