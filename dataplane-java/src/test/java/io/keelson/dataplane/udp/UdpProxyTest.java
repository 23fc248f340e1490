package io.keelson.dataplane.udp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Envoy's udp_proxy through a running proxy with real UDP sockets: Java clients, each with a socket of its own (a
 * session of its own), through a UDP listener to two UDP echo backends that answer with their name.
 */
class UdpProxyTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A bootstrap with UDP listener "udp" on an ephemeral port; {@code proxy} holds the UdpProxyConfig fields. */
  static String udpListener(String proxy, String clusters) {
    return udpBootstrap(clusters, udpListenerItem("udp", "dns", proxy));
  }

  /** A bootstrap with {@code listeners} (from {@link #udpListenerItem}) and {@code clusters} items. */
  private static String udpBootstrap(String clusters, String... listeners) {
    return "static_resources:\n  listeners:\n" + String.join("", listeners) + "  clusters:\n" + clusters.stripTrailing()
        + "\n";
  }

  /** One UDP listener item on an ephemeral port; {@code proxy} holds the UdpProxyConfig fields (8 spaces in). */
  private static String udpListenerItem(String name, String statPrefix, String proxy) {
    return """
          - name: %s
            address: { socket_address: { protocol: UDP, address: 127.0.0.1, port_value: 0 } }
            listener_filters:
            - name: envoy.filters.udp_listener.udp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig
                stat_prefix: %s
        %s
        """.formatted(name, statPrefix, proxy.stripTrailing());
  }

  private static final String TO_A = "        cluster: a\n";

  /** The matcher form Envoy documents (the deprecated {@code cluster} field's replacement). */
  private static String matcherTo(String cluster) {
    return """
                matcher:
                  on_no_match:
                    action:
                      name: route
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route
                        cluster: %s
        """.formatted(cluster);
  }

  private UdpEchoServer echo(String name) throws Exception {
    return proxies.keep(new UdpEchoServer(name));
  }

  private UdpClient client(ProxyServer p) throws Exception {
    return client(p, "127.0.0.1");
  }

  private UdpClient client(ProxyServer p, String bindIp) throws Exception {
    InetSocketAddress a = p.listenerAddress("udp");
    return proxies.keep(new UdpClient(bindIp, new InetSocketAddress("127.0.0.1", a.getPort())));
  }

  private static void awaitStat(ProxyServer p, String line) {
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains(line));
  }

  private static String backendOf(String answer) {
    return answer.substring(0, answer.indexOf(':'));
  }

  @Test
  void repliesReachTheClientAndRoundRobinSpreadsSessionsOverBothBackends() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    ProxyServer p = proxies.start(udpListener(matcherTo("ab"), cluster("ab", "ROUND_ROBIN", a.port(), b.port())), 2);
    Set<String> backends = new HashSet<>();
    for (int i = 0; i < 4; i++) {
      UdpClient c = client(p);
      String first = c.ask("q" + i);
      assertThat(first).endsWith(":q" + i);
      assertThat(c.ask("again")).as("a session keeps its host").isEqualTo(backendOf(first) + ":again");
      backends.add(backendOf(first));
    }
    assertThat(backends).containsExactlyInAnyOrder("a", "b");
    assertThat(a.peers.size() + b.peers.size()).as("one upstream socket per session").isEqualTo(4);
    awaitStat(p, "udp.dns.downstream_sess_total: 4");
    String stats = RunningProxies.admin(p, "/stats");
    assertThat(stats).contains("udp.dns.downstream_sess_active: 4", "udp.dns.downstream_sess_rx_datagrams: 8",
        "udp.dns.downstream_sess_tx_datagrams: 8", "cluster.ab.udp.sess_tx_datagrams: 8",
        "cluster.ab.udp.sess_rx_datagrams: 8", "cluster.ab.upstream_cx_total: 4", "cluster.ab.upstream_cx_active: 4");
    assertThat(RunningProxies.admin(p, "/stats/prometheus")).contains("envoy_udp_dns_downstream_sess_total 4");
    assertThat(RunningProxies.admin(p, "/listeners")).contains("udp::127.0.0.1:" + p.listenerAddress("udp").getPort());
  }

  @Test
  void anIpv6ListenerRelaysToIpv4Hosts() throws Exception {
    UdpEchoServer a = echo("a");
    ProxyServer p = proxies.start(udpListener(TO_A, cluster("a", "ROUND_ROBIN", a.port()))
        .replace("address: 127.0.0.1, port_value: 0", "address: \"::1\", port_value: 0"), 1);
    int port = p.listenerAddress("udp").getPort();
    UdpClient c = proxies.keep(new UdpClient("::1", new InetSocketAddress("::1", port)));
    assertThat(c.ask("six")).isEqualTo("a:six");
    assertThat(RunningProxies.admin(p, "/listeners")).contains("udp::0:0:0:0:0:0:0:1:" + port);
  }

  @Test
  void hashingOnTheSourceIpKeepsAClientOnOneBackend() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    String hashed = TO_A.replace("cluster: a", "cluster: ring") + "        hash_policies: [{ source_ip: true }]\n";
    ProxyServer p = proxies.start(udpListener(hashed, cluster("ring", "RING_HASH", a.port(), b.port())), 2);
    for (String ip : new String[] {"127.0.0.1", "127.0.0.2"}) {
      Set<String> backends = new HashSet<>();
      for (int i = 0; i < 6; i++) {
        backends.add(backendOf(client(p, ip).ask("x")));
      }
      assertThat(backends).as("sessions from %s", ip).hasSize(1);
    }
    awaitStat(p, "udp.dns.downstream_sess_total: 12");
  }

  @Test
  void sessionsSkipAHostThatFailsItsHealthCheck() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    // A TCP health check on each host's port: b has a TCP listener there too, a has none (fails).
    try (java.net.ServerSocket bTcp = new java.net.ServerSocket(b.port(), 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread.ofPlatform().daemon().start(() -> {
        while (!bTcp.isClosed()) {
          try {
            bTcp.accept().close();
          } catch (java.io.IOException e) {
            return;
          }
        }
      });
      String checked = cluster("ab", "ROUND_ROBIN", a.port(), b.port()) + """
              health_checks:
              - { timeout: 1s, interval: 0.1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }
          """;
      ProxyServer p = proxies.start(udpListener("        cluster: ab\n", checked), 1);
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
          assertThat(RunningProxies.admin(p, "/clusters")).contains("failed_active_hc"));
      for (int i = 0; i < 4; i++) {
        assertThat(client(p).ask("h" + i)).as("a is unhealthy: every session goes to b").isEqualTo("b:h" + i);
      }
    }
  }

  @Test
  void anIdleSessionEndsAfterTheIdleTimeout() throws Exception {
    UdpEchoServer a = echo("a");
    ProxyServer p = proxies.start(udpListener(TO_A + "        idle_timeout: 0.5s\n", cluster("a", "ROUND_ROBIN", a.port())), 1);
    UdpClient c = client(p);
    assertThat(c.ask("1")).isEqualTo("a:1");
    awaitStat(p, "udp.dns.idle_timeout: 1");
    awaitStat(p, "udp.dns.downstream_sess_active: 0");
    awaitStat(p, "cluster.a.upstream_cx_active: 0");
    assertThat(c.ask("2")).isEqualTo("a:2");
    awaitStat(p, "udp.dns.downstream_sess_total: 2");
    assertThat(a.peers).as("a new session: a new upstream socket").hasSize(2);
  }

  @Test
  void aSessionOverMaxConnectionsIsRefusedAndItsDatagramsDroppedAndCounted() throws Exception {
    UdpEchoServer a = echo("a");
    String limited = cluster("a", "ROUND_ROBIN", a.port()) + """
            circuit_breakers:
              thresholds:
              - { max_connections: 1 }
        """;
    ProxyServer p = proxies.start(udpListener(TO_A, limited), 1);
    UdpClient first = client(p);
    assertThat(first.ask("1")).isEqualTo("a:1");
    UdpClient second = client(p);
    second.send("2");
    assertThat(second.receive(Duration.ofMillis(700))).as("no session for a second client").isNull();
    awaitStat(p, "udp.dns.downstream_sess_rx_datagrams_dropped: 1");
    awaitStat(p, "cluster.a.upstream_cx_overflow: 1");
    assertThat(first.ask("3")).as("the first session goes on").isEqualTo("a:3");
    assertThat(RunningProxies.admin(p, "/stats")).contains("udp.dns.downstream_sess_total: 1");
  }

  @Test
  void aSessionEndsWhenItsHostLeavesTheClusterAndTheClientMovesToAnother() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    ProxyServer p = proxies.start(udpListener(TO_A, cluster("a", "ROUND_ROBIN", a.port())), 1);
    UdpClient c = client(p);
    assertThat(c.ask("1")).isEqualTo("a:1");
    p.install(BootstrapLoader.fromYaml(udpListener(TO_A, cluster("a", "ROUND_ROBIN", b.port())), "v2.yaml"));
    awaitStat(p, "udp.dns.downstream_sess_active: 0");
    assertThat(c.ask("2")).isEqualTo("b:2");
    awaitStat(p, "udp.dns.downstream_sess_total: 2");
  }

  /** A proxy whose UDP listener relays to cluster a, beside cluster b (echo backends named so), a's answer seen once. */
  private record ToA(ProxyServer proxy, UdpClient client, String clusters) {}

  private ToA relayingToA() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    String clusters = cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "ROUND_ROBIN", b.port());
    ProxyServer p = proxies.start(udpListener(TO_A, clusters), 1);
    UdpClient c = client(p);
    assertThat(c.ask("1")).isEqualTo("a:1");
    return new ToA(p, c, clusters);
  }

  @Test
  void anLdsUpdateReplacesTheListenerEndingItsSessionsAndARemovalClosesIt() throws Exception {
    ToA running = relayingToA();
    ProxyServer p = running.proxy();
    int port = p.listenerAddress("udp").getPort();
    UdpClient c = running.client();
    String clusters = running.clusters();
    String toB = udpListener(matcherTo("b"), clusters).replace("port_value: 0", "port_value: " + port);
    p.install(BootstrapLoader.fromYaml(toB, "v2.yaml"));
    assertThat(c.ask("2")).as("the updated listener, at the same address").isEqualTo("b:2");
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.a.upstream_cx_active: 0");
    String none = """
        static_resources:
          clusters:
        """ + clusters;
    p.install(BootstrapLoader.fromYaml(none, "v3.yaml"));
    c.send("3");
    assertThat(c.receive(Duration.ofMillis(700))).as("the removed listener's socket is closed").isNull();
    assertThat(RunningProxies.admin(p, "/listeners")).doesNotContain("udp::");
    awaitStat(p, "cluster.b.upstream_cx_active: 0");
  }

  /** An update refused because a TCP listener cannot bind leaves the UDP listeners as they were (all or nothing). */
  @Test
  void anUpdateWhoseTcpListenerCannotBindLeavesTheUdpListenerAsItWas() throws Exception {
    ToA running = relayingToA();
    ProxyServer p = running.proxy();
    int port = p.listenerAddress("udp").getPort();
    UdpClient c = running.client();
    String clusters = running.clusters();
    String unbindable = io.keelson.dataplane.testing.ProxyHarness.unbindableTcpListener("a");
    String toB = udpListener(matcherTo("b"), clusters).replace("port_value: 0", "port_value: " + port)
        .replace("  listeners:\n", "  listeners:\n" + unbindable);
    assertThatThrownBy(() -> p.install(BootstrapLoader.fromYaml(toB, "v2.yaml"))).hasMessageContaining("tcp");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(client(p).ask("2")).as("the UDP listener at its address with its old config").isEqualTo("a:2"));
    assertThat(p.listenerAddress("udp").getPort()).isEqualTo(port);
  }

  @Test
  void aSessionWritesOneAccessLogEntryWhenItEnds(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    UdpEchoServer a = echo("a");
    java.nio.file.Path log = dir.resolve("udp.log");
    String logged = TO_A + "        idle_timeout: 0.5s\n" + io.keelson.dataplane.testing.ProxyHarness.fileAccessLog(log,
        "%DOWNSTREAM_REMOTE_ADDRESS% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% %BYTES_RECEIVED% %BYTES_SENT%\\n").indent(8);
    ProxyServer p = proxies.start(udpListener(logged, cluster("a", "ROUND_ROBIN", a.port())), 1);
    UdpClient c = client(p);
    assertThat(c.ask("hello")).isEqualTo("a:hello");
    assertThat(c.ask("hi")).isEqualTo("a:hi");
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(java.nio.file.Files.exists(log)
        ? java.nio.file.Files.readAllLines(log) : java.util.List.<String>of())
        .as("one entry when the idle session ends: 7 bytes in, 11 out")
        .containsExactly(c.localAddress() + " 127.0.0.1:" + a.port() + " a 7 11"));
  }

  /**
   * An ICMP port unreachable from the host is counted ({@code sess_rx_errors}) and the session kept, as Envoy keeps it:
   * a client sending to a dead host keeps one session (one socket, one access log entry at its end), on every transport
   * (each reports the error its own way). Before, each error ended the session and the next datagram opened another.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(io.keelson.dataplane.transport.Transport.class)
  void aPortUnreachableFromTheHostIsCountedAndTheSessionKept(io.keelson.dataplane.transport.Transport transport,
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(transport.unavailabilityCause() == null, transport + " not available");
    int closed;
    try (java.net.DatagramSocket s = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort(); // nothing listens there once closed: the kernel answers ICMP port unreachable
    }
    java.nio.file.Path log = dir.resolve("udp.log");
    String logged = TO_A + io.keelson.dataplane.testing.ProxyHarness.fileAccessLog(log,
        "%UPSTREAM_HOST% %BYTES_RECEIVED%\\n").indent(8);
    ProxyServer p = proxies.start(udpListener(logged, cluster("a", "ROUND_ROBIN", closed)), 1, transport);
    UdpClient c = client(p);
    c.send("1");
    awaitStat(p, "cluster.a.udp.sess_rx_errors: 1");
    c.send("2");
    awaitStat(p, "cluster.a.udp.sess_rx_errors: 2");
    assertThat(RunningProxies.admin(p, "/stats")).contains("udp.dns.downstream_sess_total: 1",
        "udp.dns.downstream_sess_active: 1", "cluster.a.upstream_cx_active: 1", "udp.dns.idle_timeout: 0");
    assertThat(java.nio.file.Files.exists(log) ? java.nio.file.Files.readAllLines(log) : java.util.List.<String>of())
        .as("the session goes on: no entry yet").isEmpty();
  }

  /**
   * A session whose socket the kernel destroys ({@code ss -K}: its reads fail with ECONNABORTED, it is disconnected)
   * ends at once, not at its idle timeout: its slot back, its access log entry written; the client's next datagram opens
   * a new session. Native transports (NIO reports the abort as a plain SocketException).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(value = io.keelson.dataplane.transport.Transport.class, names = {"EPOLL",
      "IO_URING"})
  void aSessionEndsWhenTheKernelDestroysItsSocket(io.keelson.dataplane.transport.Transport transport,
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(transport.unavailabilityCause() == null, transport + " not available");
    UdpEchoServer a = echo("a");
    java.nio.file.Path log = dir.resolve("udp.log");
    String logged = TO_A + io.keelson.dataplane.testing.ProxyHarness.fileAccessLog(log,
        "%UPSTREAM_HOST% %BYTES_RECEIVED%\\n").indent(8);
    ProxyServer p = proxies.start(udpListener(logged, cluster("a", "ROUND_ROBIN", a.port())), 1, transport);
    UdpClient c = client(p);
    assertThat(c.ask("1")).isEqualTo("a:1");
    // The only socket connected to a's port is the session's (the client's is connected to the proxy).
    Process ss = new ProcessBuilder("ss", "-K", "-u", "-n", "dst", "127.0.0.1:" + a.port())
        .redirectErrorStream(true).start();
    String out = new String(ss.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(ss.waitFor()).as(out).isZero();
    awaitStat(p, "udp.dns.downstream_sess_active: 0");
    awaitStat(p, "cluster.a.upstream_cx_active: 0");
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(java.nio.file.Files.exists(log)
        ? java.nio.file.Files.readAllLines(log) : java.util.List.<String>of())
        .as("its access log entry, as a session's normal end").containsExactly("127.0.0.1:" + a.port() + " 1"));
    assertThat(c.ask("2")).as("a new session").isEqualTo("a:2");
    assertThat(RunningProxies.admin(p, "/stats")).contains("udp.dns.downstream_sess_total: 2");
  }

  /**
   * A STRICT_DNS cluster's host name is looked up in the background, off the event loop, and its sessions only see the
   * resolved address: while the lookup is held, the cluster is warming (its datagrams are dropped and counted as
   * having no cluster, as Envoy's udp_proxy for a cluster not in service) and another listener on the same (only)
   * event loop keeps relaying; once the name resolves, a new datagram opens a session to the address.
   */
  @Test
  void aDnsClusterIsResolvedOffTheEventLoopAndServesOnceResolved() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    String name = "a-" + System.nanoTime() + HeldLookups.SUFFIX;
    HeldLookups.hold(name);
    String named = """
          - name: named
            connect_timeout: 1s
            type: STRICT_DNS
            load_assignment:
              cluster_name: named
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: %s, port_value: %d } } }
        """.formatted(name, a.port());
    String yaml = udpBootstrap(named + cluster("b", "ROUND_ROBIN", b.port()),
        udpListenerItem("udp", "dns", "        cluster: named\n"), udpListenerItem("udp2", "ip", "        cluster: b\n"));
    ProxyServer p = proxies.start(yaml, 1);
    UdpClient held = client(p);
    for (int i = 0; i < 5; i++) {
      held.send("q" + i);
    }
    awaitStat(p, "udp.dns.downstream_sess_rx_datagrams: 5");
    UdpClient other = proxies.keep(new UdpClient("127.0.0.1",
        new InetSocketAddress("127.0.0.1", p.listenerAddress("udp2").getPort())));
    assertThat(other.ask("free")).as("the event loop is not blocked by the lookup").isEqualTo("b:free");
    assertThat(held.receive(Duration.ofMillis(200))).as("nothing sent before the name resolves").isNull();

    HeldLookups.release(name);
    await().atMost(Duration.ofSeconds(15)).until(() -> RunningProxies.admin(p, "/clusters").contains("named::127.0.0.1:"));
    assertThat(held.ask("after")).isEqualTo("a:after");
  }

  @Test
  void perPacketBalancingSpreadsOneClientsDatagrams() throws Exception {
    UdpEchoServer a = echo("a");
    UdpEchoServer b = echo("b");
    ProxyServer p = proxies.start(udpListener(TO_A.replace("cluster: a", "cluster: ab")
        + "        use_per_packet_load_balancing: true\n", cluster("ab", "ROUND_ROBIN", a.port(), b.port())), 1);
    UdpClient c = client(p);
    Set<String> backends = new HashSet<>();
    for (int i = 0; i < 6; i++) {
      backends.add(backendOf(c.ask("p" + i)));
    }
    assertThat(backends).containsExactlyInAnyOrder("a", "b");
    awaitStat(p, "udp.dns.downstream_sess_total: 2");
    assertThat(RunningProxies.admin(p, "/stats")).as("one session per client and host, as Envoy")
        .contains("udp.dns.downstream_sess_active: 2");
    assertThat(a.peers).hasSize(1);
    assertThat(b.peers).hasSize(1);
  }

  @Test
  void refusesWhatUdpProxyDoesNotRunByField() {
    String clusters = cluster("a", "ROUND_ROBIN", 9);
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(udpListener(TO_A + "        use_original_src_ip: true\n", clusters), "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("typed_config.use_original_src_ip");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(udpListener(TO_A
        + "        session_filters: [{ name: x }]\n", clusters), "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("typed_config.session_filters");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(udpListener(TO_A
        + "        hash_policies: [{ key: k }]\n", clusters), "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("hash_policies[0].key");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(udpListener(TO_A, clusters).replace("    listener_filters:",
        "    filter_chains: [{ filters: [] }]\n    listener_filters:"), "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("static_resources.listeners[0].filter_chains");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(udpListener("        cluster: nope\n", clusters), "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("'nope'");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(udpListener(TO_A + "        proxy_access_log: [{ name: x }]\n",
        clusters), "t.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("typed_config.proxy_access_log");
  }
}
