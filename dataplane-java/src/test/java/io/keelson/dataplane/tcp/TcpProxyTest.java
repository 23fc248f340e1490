package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.PrometheusText;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import io.keelson.dataplane.testing.TcpExchange.TlsReply;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** tcp_proxy listeners and SNI passthrough through a running proxy, with real echo peers. */
class TcpProxyTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A listener "tcp" whose tcp_proxy body (indented 10) is {@code proxy}. */
  static String tcpListener(String proxy, String clusters) {
    return ProxyHarness.listener("tcp", "", """
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: echo
        """ + proxy, clusters);
  }

  /** The value of the sample {@code name} whose label {@code label} is {@code v}, parsed by Prometheus's parser. */
  static double value(String prom, String name, String label, String v) throws Exception {
    return PrometheusText.parse(prom).stream()
        .filter(s -> s.name().equals(name) && v.equals(s.labels().get(label)))
        .mapToDouble(PrometheusText.Sample::value).findFirst().orElse(-1);
  }

  @Test
  void relaysBothWaysWithHalfCloseAndSplitsByWeight() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    EchoServer b = proxies.keep(new EchoServer("b", null));
    String proxy = """
                  weighted_clusters:
                    clusters:
                    - { name: a, weight: 1 }
                    - { name: b, weight: 3 }
        """;
    ProxyServer p = proxies.start(tcpListener(proxy, cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "RANDOM", b.port())), 2);
    int port = p.listenerAddress("tcp").getPort();
    int n = 200;
    int toB = 0;
    for (int i = 0; i < n; i++) {
      String reply = TcpExchange.plain(port, "ping" + i);
      assertThat(reply).matches("[ab]:ping" + i + "\\|bye");
      if (reply.startsWith("b:")) {
        toB++;
      }
    }
    assertThat(a.connections.get() + b.connections.get()).isEqualTo(n);
    // 3/4 expected; 200 draws keep this well inside [0.6, 0.9] except with negligible probability.
    assertThat(toB / (double) n).isBetween(0.6, 0.9);
    double expectB = toB;
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      String prom = RunningProxies.admin(p, "/stats/prometheus");
      assertThat(value(prom, "istio_tcp_connections_closed_total", "destination_service", "b"))
          .isEqualTo(expectB);
    });
    String prom = RunningProxies.admin(p, "/stats/prometheus");
    assertThat(value(prom, "istio_tcp_connections_opened_total", "destination_service", "a")).isEqualTo((double) (n - toB));
    // Istio: received = bytes received during the request ("pingN"), sent = bytes sent during the response
    // ("b:pingN|bye", 6 more per connection)
    double received = value(prom, "istio_tcp_received_bytes_total", "destination_service", "b");
    double sent = value(prom, "istio_tcp_sent_bytes_total", "destination_service", "b");
    assertThat(received).isGreaterThan(0);
    assertThat(sent - received).isEqualTo(6 * expectB);
    assertThat(RunningProxies.admin(p, "/stats")).contains("tcp.echo.downstream_cx_total: " + n);
  }

  /** As Envoy's cluster load balancer, tcp_proxy skips an endpoint active health checking took out. */
  @Test
  void connectionsSkipAnEndpointThatFailsItsHealthCheck() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    String checked = cluster("ab", "ROUND_ROBIN", a.port(), io.keelson.dataplane.testing.TestUpstream.closedPort()) + """
            health_checks:
            - { timeout: 1s, interval: 0.1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }
        """;
    ProxyServer p = proxies.start(tcpListener("          cluster: ab\n", checked), 2);
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/clusters")).contains("failed_active_hc"));
    int port = p.listenerAddress("tcp").getPort();
    for (int i = 0; i < 6; i++) {
      assertThat(TcpExchange.plain(port, "hc" + i)).as("the dead endpoint is unhealthy: every connection goes to a")
          .isEqualTo("a:hc" + i + "|bye");
    }
  }

  @Test
  void closesAfterTheIdleTimeout() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    ProxyServer p = proxies.start(tcpListener("          cluster: a\n          idle_timeout: 0.3s\n", cluster("a", "ROUND_ROBIN", a.port())), 2);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort())) {
      s.setSoTimeout(15_000);
      s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      assertThat(new String(in.readNBytes(3), StandardCharsets.US_ASCII)).isEqualTo("a:x");
      assertThat(in.read()).isEqualTo(-1); // closed by the proxy, not by us
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains("tcp.echo.idle_timeout: 1"));
  }

  @Test
  void closesWhenTheUpstreamRefuses() throws Exception {
    int dead;
    try (var ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      dead = ss.getLocalPort();
    }
    ProxyServer p = proxies.start(tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", dead)), 2);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort())) {
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.a.upstream_cx_connect_fail: 1"));
  }

  /**
   * hash_policy source_ip over a ring hash cluster of three echoes: the socket path serves the listener (not a gateway
   * VIP) and every connection from one source address reaches one echo; several source addresses reach more than one.
   */
  @Test
  void hashPolicySourceIpKeepsOneClientOnOneEndpoint() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    EchoServer b = proxies.keep(new EchoServer("b", null));
    EchoServer c = proxies.keep(new EchoServer("c", null));
    ProxyServer p = proxies.start(tcpListener("          cluster: r\n          hash_policy: [ { source_ip: {} } ]\n",
        cluster("r", "RING_HASH", a.port(), b.port(), c.port())), 2);
    int port = p.listenerAddress("tcp").getPort();
    java.util.Set<Character> overall = new java.util.HashSet<>();
    for (int host = 1; host <= 12; host++) {
      java.util.Set<Character> reached = new java.util.HashSet<>();
      for (int i = 0; i < 5; i++) {
        try (Socket s = new Socket()) {
          s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getByName("127.0.0." + host), 0));
          s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5000);
          s.setSoTimeout(10_000);
          s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
          s.shutdownOutput();
          String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
          assertThat(reply).matches("[abc]:x\\|bye");
          reached.add(reply.charAt(0));
        }
      }
      assertThat(reached).as("127.0.0.%d's connections", host).hasSize(1);
      overall.addAll(reached);
    }
    assertThat(overall).hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void aHashPolicyOtherThanSourceIpIsRefusedByPath() {
    String yaml = tcpListener("          cluster: r\n          hash_policy: [ { filter_state: { key: k } } ]\n",
        cluster("r", "RING_HASH", 1));
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(yaml, "config.yaml"))
        .hasMessageContaining("hash_policy[0].filter_state")
        .hasMessageContaining("expected source_ip");
  }

  /**
   * A hashing cluster without a hash_policy (a DestinationRule consistentHash by an HTTP key on a TCP destination,
   * as istiod writes it) on a loopback or wildcard listener is the socket proxy's, not a gateway VIP: served, each
   * connection to a random endpoint, as Envoy's tcp_proxy with no hash key.
   */
  @Test
  void aHashingClusterWithoutAHashPolicyIsServedOnLoopbackAndWildcardListeners() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    EchoServer b = proxies.keep(new EchoServer("b", null));
    String clusters = cluster("r", "MAGLEV", a.port(), b.port());
    ProxyServer loopback = proxies.start(tcpListener("          cluster: r\n", clusters), 2);
    ProxyServer wildcard = proxies.start(tcpListener("          cluster: r\n", clusters)
        .replace("address: 127.0.0.1, port_value: 0", "address: 0.0.0.0, port_value: 0"), 2);
    java.util.Set<Character> reached = new java.util.HashSet<>();
    for (ProxyServer p : java.util.List.of(loopback, wildcard)) {
      int port = p.listenerAddress("tcp").getPort();
      for (int i = 0; i < 40; i++) {
        String reply = TcpExchange.plain(port, "r" + i);
        assertThat(reply).matches("[ab]:r" + i + "\\|bye");
        reached.add(reply.charAt(0));
      }
    }
    assertThat(reached).as("random picks over 80 connections").containsExactlyInAnyOrder('a', 'b');
  }

  @Test
  void gatewayVipsBalancedByMaglevAreLeftToTheGateway() throws Exception {
    String yaml = tcpListener("          cluster: vip\n", cluster("vip", "MAGLEV", 8080))
        .replace("address: 127.0.0.1, port_value: 0", "address: 10.99.1.100, port_value: 80");
    ProxyServer p = proxies.start(yaml, 2); // would fail to bind 10.99.1.100 if the socket proxy took it
    assertThat(p.boundListeners()).doesNotContainKey("tcp");
  }

  @Test
  void passesTlsThroughToTheBackendChosenBySni() throws Exception {
    TestCa ca = new TestCa("sni-ca");
    TestCa.Leaf certA = ca.issue("a.test", "a.test");
    TestCa.Leaf certB = ca.issue("wild.b.test", "*.b.test");
    EchoServer a = proxies.keep(new EchoServer("a", SslContextBuilder.forServer(certA.key(), certA.cert()).build()));
    EchoServer b = proxies.keep(new EchoServer("b", SslContextBuilder.forServer(certB.key(), certB.cert()).build()));
    String yaml = TlsYaml.sniListener("tls",
        TlsYaml.passthroughChain("server_names: [\"a.test\"]", "", "sni_a", "a")
            + TlsYaml.passthroughChain("server_names: [\"*.b.test\"]", "", "sni_b", "b"),
        cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "ROUND_ROBIN", b.port()));
    ProxyServer p = proxies.start(yaml, 2);
    int port = p.listenerAddress("tls").getPort();
    assertThat(TcpExchange.tls(ca.clientContext(), port, "a.test")).isEqualTo(new TlsReply("CN=a.test", "a:hi"));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "x.b.test")).isEqualTo(new TlsReply("CN=wild.b.test", "b:hi"));
    // No chain for this name and no default chain: the connection is closed before any backend sees it.
    assertThat(TcpExchange.tls(ca.clientContext(), port, "c.test")).as("no chain: the handshake fails")
        .isEqualTo(new TlsReply(null, TcpExchange.CLOSED));
    assertThat(a.connections.get() + b.connections.get()).isEqualTo(2);
  }

  @Test
  void anExactServerNameBeatsAWildcardAndTheLongestWildcardWins() throws Exception {
    // Envoy's server_names: exact first, then the most specific *.suffix; a wildcard never matches its own apex.
    // (Echo names are one letter: TcpExchange reads a four-byte reply.)
    TestCa ca = new TestCa("wild-ca");
    TestCa.Leaf exact = ca.issue("a.example.test", "a.example.test");
    TestCa.Leaf wide = ca.issue("wide.example.test", "*.example.test", "*.x.example.test", "example.test");
    TestCa.Leaf narrow = ca.issue("narrow.x.example.test", "*.x.example.test");
    EchoServer e = proxies.keep(new EchoServer("e", SslContextBuilder.forServer(exact.key(), exact.cert()).build()));
    EchoServer w = proxies.keep(new EchoServer("w", SslContextBuilder.forServer(wide.key(), wide.cert()).build()));
    EchoServer n = proxies.keep(new EchoServer("n", SslContextBuilder.forServer(narrow.key(), narrow.cert()).build()));
    String yaml = TlsYaml.sniListener("tls",
        TlsYaml.passthroughChain("server_names: [\"*.example.test\"]", "", "sni_wide", "wide")
            + TlsYaml.passthroughChain("server_names: [\"a.example.test\"]", "", "sni_exact", "exact")
            + TlsYaml.passthroughChain("server_names: [\"*.x.example.test\"]", "", "sni_narrow", "narrow"),
        cluster("wide", "ROUND_ROBIN", w.port()) + cluster("exact", "ROUND_ROBIN", e.port())
            + cluster("narrow", "ROUND_ROBIN", n.port()));
    ProxyServer p = proxies.start(yaml, 2);
    int port = p.listenerAddress("tls").getPort();
    assertThat(TcpExchange.tls(ca.clientContext(), port, "a.example.test"))
        .isEqualTo(new TlsReply("CN=a.example.test", "e:hi"));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "b.example.test"))
        .isEqualTo(new TlsReply("CN=wide.example.test", "w:hi"));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "y.x.example.test"))
        .isEqualTo(new TlsReply("CN=narrow.x.example.test", "n:hi"));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "A.Example.Test")).as("names compare case-blind")
        .isEqualTo(new TlsReply("CN=a.example.test", "e:hi"));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "example.test")).as("*.example.test is not its apex")
        .isEqualTo(new TlsReply(null, TcpExchange.CLOSED));
  }

  @Test
  void terminatesTlsOnATcpListenerAndOriginatesTlsToTheCluster() throws Exception {
    TestCa ca = new TestCa("tcp-ca");
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tcp-tls");
    java.nio.file.Path cert = ca.issue("proxy", "a.test").write(dir, "proxy");
    ca.write(dir, "ca.crt");
    TestCa.Leaf backend = ca.issue("backend", "backend.test");
    EchoServer a = proxies.keep(new EchoServer("a", SslContextBuilder.forServer(backend.key(), backend.cert()).build()));
    String yaml = tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", a.port()) + TlsYaml.upstreamTls(TlsYaml.trustingCa(dir.resolve("ca.crt"))
        + "            match_typed_subject_alt_names: [ { san_type: DNS, matcher: { exact: backend.test } } ]\n")).replace("    - filters:\n", """
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  common_tls_context:
                    tls_certificates: [ { certificate_chain: { filename: "%s" }, private_key: { filename: "%s" } } ]
              filters:
        """.formatted(cert, dir.resolve("proxy.key")));
    ProxyServer p = proxies.start(yaml, 2);
    // The client's TLS ends at the proxy (it sees the proxy's certificate); the proxy's own TLS reaches the backend.
    assertThat(TcpExchange.tls(ca.clientContext(), p.listenerAddress("tcp").getPort(), "a.test")).isEqualTo(new TlsReply("CN=proxy", "a:hi"));
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.a.ssl.handshake: 1").contains("listener.tcp.ssl.handshake: 1");
  }
}
