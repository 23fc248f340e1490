package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.tcp.TcpProxyTest.cluster;
import static io.keelson.dataplane.tcp.TcpProxyTest.tcpListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.TestCa;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** envoy.filters.network.rbac in front of tcp_proxy: checked once per connection, a denial closes it unrelayed. */
class TcpRbacTest {
  private static final String CLOSED = "<closed>";
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

  /** A network RBAC filter (at the filter list's indentation) ALLOWing {@code principal}, with optional extra lines. */
  private static String rbacFilter(String principal, String extra) {
    return """
              - name: envoy.filters.network.rbac
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                  stat_prefix: authz
                  rules:
                    action: ALLOW
                    policies:
                      only:
                        permissions: [ { any: true } ]
                        principals: [ %s ]
        %s""".formatted(principal, extra);
  }

  /** The tcp listener of {@link TcpProxyTest#tcpListener} to cluster {@code a}, with {@code rbac} before its tcp_proxy. */
  private static String withRbac(String rbac, int upstreamPort) {
    return tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", upstreamPort))
        .replace("      - name: envoy.filters.network.tcp_proxy\n", rbac + "      - name: envoy.filters.network.tcp_proxy\n");
  }

  private static String admin(ProxyServer p, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  /** Sends, half-closes and reads everything; {@link #CLOSED} when the proxy reset the connection. */
  private static String exchange(int port, String send) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(send.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      } catch (java.net.SocketException e) {
        return CLOSED; // reset: the proxy closed with our bytes unread
      }
    }
  }

  /** A TLS exchange ("hi" then the 4-byte echo); {@link #CLOSED} when the proxy closes instead of relaying. */
  private static String tlsExchange(SSLContext client, int port, String sni) throws Exception {
    try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(sni)));
      s.setSSLParameters(params);
      try {
        s.startHandshake();
        s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        byte[] reply = s.getInputStream().readNBytes(4);
        return reply.length == 4 ? new String(reply, StandardCharsets.US_ASCII) : CLOSED;
      } catch (IOException e) {
        return CLOSED;
      }
    }
  }

  @Test
  void anAllowedSourceIpIsRelayedAndCounted() throws Exception {
    EchoServer a = keep(new EchoServer("a", null));
    String shadow = """
                  shadow_rules:
                    action: DENY
                    policies:
                      everyone: { permissions: [ { any: true } ], principals: [ { any: true } ] }
        """;
    ProxyServer p = start(withRbac(rbacFilter("{ direct_remote_ip: { address_prefix: 127.0.0.0, prefix_len: 8 } }", shadow), a.port()));
    int port = p.listenerAddress("tcp").getPort();
    assertThat(exchange(port, "ping")).isEqualTo("a:ping|bye");
    assertThat(exchange(port, "pong")).isEqualTo("a:pong|bye");
    assertThat(a.connections.get()).isEqualTo(2);
    assertThat(admin(p, "/stats")).contains("authz.rbac.allowed: 2").contains("authz.rbac.denied: 0")
        .contains("authz.rbac.shadow_denied: 2").contains("authz.rbac.shadow_allowed: 0");
  }

  @Test
  void aDeniedSourceIpIsClosedWithoutAnyUpstreamConnection() throws Exception {
    EchoServer a = keep(new EchoServer("a", null));
    ProxyServer p = start(withRbac(rbacFilter("{ direct_remote_ip: { address_prefix: 10.0.0.0, prefix_len: 8 } }", ""), a.port()));
    int port = p.listenerAddress("tcp").getPort();
    String reply = exchange(port, "secret");
    assertThat(reply).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(admin(p, "/stats")).contains("authz.rbac.denied: 1"));
    assertThat(admin(p, "/stats")).contains("authz.rbac.allowed: 0");
    assertThat(a.connections.get()).isZero();
  }

  @Test
  void aDenyPolicyBeforeAnAllowPolicyClosesWhatItMatches() throws Exception {
    EchoServer a = keep(new EchoServer("a", null));
    String deny = """
              - name: envoy.filters.network.rbac
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                  stat_prefix: deny_first
                  rules:
                    action: DENY
                    policies:
                      loopback: { permissions: [ { any: true } ], principals: [ { source_ip: { address_prefix: 127.0.0.1, prefix_len: 32 } } ] }
        """;
    ProxyServer p = start(withRbac(deny + rbacFilter("{ any: true }", ""), a.port()));
    assertThat(exchange(p.listenerAddress("tcp").getPort(), "x")).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(admin(p, "/stats")).contains("deny_first.rbac.denied: 1"));
    // The ALLOW filter behind it never ran.
    assertThat(admin(p, "/stats")).contains("authz.rbac.allowed: 0");
    assertThat(a.connections.get()).isZero();
  }

  @Test
  void principalsComeFromTheVerifiedClientCertificateOfATerminatedTlsConnection() throws Exception {
    TestCa ca = new TestCa("rbac-ca");
    Path dir = Files.createTempDirectory("tcp-rbac");
    Path cert = ca.issue("proxy", "a.test").write(dir, "proxy");
    ca.write(dir, "ca.crt");
    EchoServer a = keep(new EchoServer("a", null));
    String yaml = withRbac(rbacFilter("{ authenticated: { principal_name: { exact: \"spiffe://test/ns/default/sa/client\" } } }", ""),
        a.port()).replace("    - filters:\n", """
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  require_client_certificate: true
                  common_tls_context:
                    tls_certificates: [ { certificate_chain: { filename: "%s" }, private_key: { filename: "%s" } } ]
                    validation_context:
                      trusted_ca: { filename: "%s" }
              filters:
        """.formatted(cert, dir.resolve("proxy.key"), dir.resolve("ca.crt")));
    ProxyServer p = start(yaml);
    int port = p.listenerAddress("tcp").getPort();
    SSLContext allowed = ca.issue("client", "spiffe://test/ns/default/sa/client").clientContext(ca);
    SSLContext other = ca.issue("other", "spiffe://test/ns/default/sa/other").clientContext(ca);
    assertThat(tlsExchange(other, port, "a.test")).isEqualTo(CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(admin(p, "/stats")).contains("authz.rbac.denied: 1"));
    assertThat(a.connections.get()).isZero();
    assertThat(tlsExchange(allowed, port, "a.test")).isEqualTo("a:hi");
    assertThat(a.connections.get()).isEqualTo(1);
    assertThat(admin(p, "/stats")).contains("authz.rbac.allowed: 1").contains("authz.rbac.denied: 1");
  }

  @Test
  void sniRoutedChainsCheckTheRequestedServerName() throws Exception {
    TestCa ca = new TestCa("sni-rbac-ca");
    TestCa.Leaf certB = ca.issue("wild.b.test", "*.b.test");
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
            - filter_chain_match: { server_names: ["*.b.test"] }
              filters:
              - name: envoy.filters.network.rbac
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                  stat_prefix: sni_authz
                  rules:
                    action: ALLOW
                    policies:
                      x-only:
                        permissions: [ { requested_server_name: { exact: x.b.test } } ]
                        principals: [ { any: true } ]
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: sni_b
                  cluster: b
          clusters:
        %s
        """.formatted(cluster("b", "ROUND_ROBIN", b.port()).stripTrailing());
    ProxyServer p = start(yaml);
    int port = p.listenerAddress("tls").getPort();
    assertThat(tlsExchange(ca.clientContext(), port, "y.b.test")).isEqualTo(CLOSED);
    assertThat(b.connections.get()).isZero();
    assertThat(tlsExchange(ca.clientContext(), port, "x.b.test")).isEqualTo("b:hi");
    assertThat(b.connections.get()).isEqualTo(1);
    assertThat(admin(p, "/stats")).contains("sni_authz.rbac.allowed: 1").contains("sni_authz.rbac.denied: 1");
  }

  @Test
  void translatesNetworkRbacFiltersInFrontOfTcpProxy() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(withRbac(rbacFilter("{ any: true }", ""), 9), "test.yaml");
    ListenerConfig l = snapshot.listeners().getFirst();
    assertThat(l.tcpProxy().rbac()).hasSize(1);
    assertThat(l.tcpProxy().rbac().getFirst().statPrefix()).isEqualTo("authz");
  }

  @Test
  void rejectsOtherFiltersBeforeTcpProxyAndRbacWithoutStatPrefix() {
    String unknown = """
              - name: envoy.filters.network.echo
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: x
                  cluster: a
        """;
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withRbac(unknown, 9), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("filter_chains[0].filters[0]")
        .hasMessageContaining("envoy.filters.network.rbac");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withRbac(rbacFilter("{ any: true }", "").replace("          stat_prefix: authz\n", ""), 9),
        "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("filters[0].typed_config")
        .hasMessageContaining("stat_prefix");
  }
}
