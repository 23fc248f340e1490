package io.keelson.dataplane.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.PrometheusText;
import io.keelson.dataplane.testing.TestCa;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** tcp_proxy listeners and SNI passthrough through a running proxy, with real echo peers. */
class TcpProxyTest {
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T keep(T c) {
    closeables.add(c);
    return c;
  }

  private ProxyServer start(String yaml) throws Exception {
    return keep(new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(2).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1))).start());
  }

  static String cluster(String name, String lb, int port) {
    return """
          - name: %s
            connect_timeout: 2s
            type: STATIC
            lb_policy: %s
            load_assignment:
              cluster_name: %s
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        """.formatted(name, lb, name, port);
  }

  /** A listener "tcp" whose tcp_proxy body (indented 10) is {@code proxy}. */
  static String tcpListener(String proxy, String clusters) {
    return """
        static_resources:
          listeners:
          - name: tcp
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: echo
        %s
          clusters:
        %s
        """.formatted(proxy.stripTrailing(), clusters.stripTrailing());
  }

  private static String exchange(int port, String send) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(send.getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput(); // half-close: the echo server answers "|bye" only after our FIN
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  /** The value of the sample {@code name} whose label {@code label} is {@code v}, parsed by Prometheus's parser. */
  static double value(String prom, String name, String label, String v) throws Exception {
    return PrometheusText.parse(prom).stream()
        .filter(s -> s.name().equals(name) && v.equals(s.labels().get(label)))
        .mapToDouble(PrometheusText.Sample::value).findFirst().orElse(-1);
  }

  private static String admin(ProxyServer p, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  @Test
  void relaysBothWaysWithHalfCloseAndSplitsByWeight() throws Exception {
    EchoServer a = keep(new EchoServer("a", null));
    EchoServer b = keep(new EchoServer("b", null));
    String proxy = """
                  weighted_clusters:
                    clusters:
                    - { name: a, weight: 1 }
                    - { name: b, weight: 3 }
        """;
    ProxyServer p = start(tcpListener(proxy, cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "RANDOM", b.port())));
    int port = p.listenerAddress("tcp").getPort();
    int n = 200;
    int toB = 0;
    for (int i = 0; i < n; i++) {
      String reply = exchange(port, "ping" + i);
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
      String prom = admin(p, "/stats/prometheus");
      assertThat(value(prom, "istio_tcp_connections_closed_total", "destination_service", "b"))
          .isEqualTo(expectB);
    });
    String prom = admin(p, "/stats/prometheus");
    assertThat(value(prom, "istio_tcp_connections_opened_total", "destination_service", "a")).isEqualTo((double) (n - toB));
    assertThat(value(prom, "istio_tcp_sent_bytes_total", "destination_service", "b")).isGreaterThan(0);
    assertThat(value(prom, "istio_tcp_received_bytes_total", "destination_service", "b")).isGreaterThan(0);
    assertThat(admin(p, "/stats")).contains("tcp.echo.downstream_cx_total: " + n);
  }

  @Test
  void closesAfterTheIdleTimeout() throws Exception {
    EchoServer a = keep(new EchoServer("a", null));
    ProxyServer p = start(tcpListener("          cluster: a\n          idle_timeout: 0.3s\n", cluster("a", "ROUND_ROBIN", a.port())));
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort())) {
      s.setSoTimeout(15_000);
      s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      assertThat(new String(in.readNBytes(3), StandardCharsets.US_ASCII)).isEqualTo("a:x");
      assertThat(in.read()).isEqualTo(-1); // closed by the proxy, not by us
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(admin(p, "/stats")).contains("tcp.echo.idle_timeout: 1"));
  }

  @Test
  void closesWhenTheUpstreamRefuses() throws Exception {
    int dead;
    try (var ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      dead = ss.getLocalPort();
    }
    ProxyServer p = start(tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", dead)));
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort())) {
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(admin(p, "/stats")).contains("cluster.a.upstream_cx_connect_fail: 1"));
  }

  @Test
  void gatewayVipsBalancedByMaglevAreLeftToTheGateway() throws Exception {
    String yaml = tcpListener("          cluster: vip\n", cluster("vip", "MAGLEV", 8080))
        .replace("address: 127.0.0.1, port_value: 0", "address: 10.99.1.100, port_value: 80");
    ProxyServer p = start(yaml); // would fail to bind 10.99.1.100 if the socket proxy took it
    assertThat(p.boundListeners()).doesNotContainKey("tcp");
  }

  @Test
  void passesTlsThroughToTheBackendChosenBySni() throws Exception {
    TestCa ca = new TestCa("sni-ca");
    TestCa.Leaf certA = ca.issue("a.test", "a.test");
    TestCa.Leaf certB = ca.issue("wild.b.test", "*.b.test");
    EchoServer a = keep(new EchoServer("a", SslContextBuilder.forServer(certA.key(), certA.cert()).build()));
    EchoServer b = keep(new EchoServer("b", SslContextBuilder.forServer(certB.key(), certB.cert()).build()));
    String yaml = """
        static_resources:
          listeners:
          - name: tls
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            listener_filters:
            - name: envoy.filters.listener.tls_inspector
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
            filter_chains:
            - filter_chain_match: { server_names: ["a.test"] }
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: sni_a
                  cluster: a
            - filter_chain_match: { server_names: ["*.b.test"] }
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: sni_b
                  cluster: b
          clusters:
        %s
        """.formatted((cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "ROUND_ROBIN", b.port())).stripTrailing());
    ProxyServer p = start(yaml);
    int port = p.listenerAddress("tls").getPort();
    assertThat(tlsExchange(ca, port, "a.test")).isEqualTo("CN=a.test|a:hi");
    assertThat(tlsExchange(ca, port, "x.b.test")).isEqualTo("CN=wild.b.test|b:hi");
    // No chain for this name and no default chain: the connection is closed before any backend sees it.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> tlsExchange(ca, port, "c.test")).isInstanceOf(java.io.IOException.class);
    assertThat(a.connections.get() + b.connections.get()).isEqualTo(2);
  }

  @Test
  void terminatesTlsOnATcpListenerAndOriginatesTlsToTheCluster() throws Exception {
    TestCa ca = new TestCa("tcp-ca");
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tcp-tls");
    java.nio.file.Path cert = ca.issue("proxy", "a.test").write(dir, "proxy");
    ca.write(dir, "ca.crt");
    TestCa.Leaf backend = ca.issue("backend", "backend.test");
    EchoServer a = keep(new EchoServer("a", SslContextBuilder.forServer(backend.key(), backend.cert()).build()));
    String yaml = tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", a.port()) + """
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                common_tls_context:
                  validation_context:
                    trusted_ca: { filename: "%s" }
                    match_typed_subject_alt_names: [ { san_type: DNS, matcher: { exact: backend.test } } ]
        """.formatted(dir.resolve("ca.crt"))).replace("    - filters:\n", """
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  common_tls_context:
                    tls_certificates: [ { certificate_chain: { filename: "%s" }, private_key: { filename: "%s" } } ]
              filters:
        """.formatted(cert, dir.resolve("proxy.key")));
    ProxyServer p = start(yaml);
    // The client's TLS ends at the proxy (it sees the proxy's certificate); the proxy's own TLS reaches the backend.
    assertThat(tlsExchange(ca, p.listenerAddress("tcp").getPort(), "a.test")).isEqualTo("CN=proxy|a:hi");
    assertThat(admin(p, "/stats")).contains("cluster.a.ssl.handshake: 1").contains("listener.tcp.ssl.handshake: 1");
  }

  private static String tlsExchange(TestCa ca, int port, String sni) throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(sni)));
      s.setSSLParameters(params);
      s.startHandshake();
      String cn = ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
      s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      byte[] reply = s.getInputStream().readNBytes(4);
      return cn + "|" + new String(reply, StandardCharsets.US_ASCII);
    }
  }
}
