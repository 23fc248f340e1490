package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.testing.TcpExchange.CLOSED;
import static io.keelson.dataplane.tcp.TcpProxyTest.tcpListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** envoy.filters.network.rbac in front of tcp_proxy: checked once per connection, a denial closes it unrelayed. */
class TcpRbacTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A network RBAC filter (at the filter list's indentation) ALLOWing {@code principal}, with optional extra lines. */
  private static String rbacFilter(String principal, String extra) {
    return rbacFilter("authz", "ALLOW", "only", "{ any: true }", principal) + extra;
  }

  /** A network RBAC filter (at the filter list's indentation) with one policy of one permission and one principal. */
  private static String rbacFilter(String statPrefix, String action, String policy, String permission, String principal) {
    return """
              - name: envoy.filters.network.rbac
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                  stat_prefix: %s
                  rules:
                    action: %s
                    policies:
                      %s:
                        permissions: [ %s ]
                        principals: [ %s ]
        """.formatted(statPrefix, action, policy, permission, principal);
  }

  /** The tcp listener of {@link TcpProxyTest#tcpListener} to cluster {@code a}, with {@code rbac} before its tcp_proxy. */
  private static String withRbac(String rbac, int upstreamPort) {
    return tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", upstreamPort))
        .replace("      - name: envoy.filters.network.tcp_proxy\n", rbac + "      - name: envoy.filters.network.tcp_proxy\n");
  }

  @Test
  void anAllowedSourceIpIsRelayedAndCounted() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    String shadow = """
                  shadow_rules:
                    action: DENY
                    policies:
                      everyone: { permissions: [ { any: true } ], principals: [ { any: true } ] }
        """;
    ProxyServer p = proxies.start(withRbac(rbacFilter("{ direct_remote_ip: { address_prefix: 127.0.0.0, prefix_len: 8 } }", shadow), a.port()), 2);
    int port = p.listenerAddress("tcp").getPort();
    assertThat(TcpExchange.plain(port, "ping")).isEqualTo("a:ping|bye");
    assertThat(TcpExchange.plain(port, "pong")).isEqualTo("a:pong|bye");
    assertThat(a.connections.get()).isEqualTo(2);
    assertThat(RunningProxies.admin(p, "/stats")).contains("authz.rbac.allowed: 2").contains("authz.rbac.denied: 0")
        .contains("authz.rbac.shadow_denied: 2").contains("authz.rbac.shadow_allowed: 0");
  }

  @Test
  void aDeniedSourceIpIsClosedWithoutAnyUpstreamConnection() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    ProxyServer p = proxies.start(withRbac(rbacFilter("{ direct_remote_ip: { address_prefix: 10.0.0.0, prefix_len: 8 } }", ""), a.port()), 2);
    int port = p.listenerAddress("tcp").getPort();
    String reply = TcpExchange.plain(port, "secret");
    assertThat(reply).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains("authz.rbac.denied: 1"));
    assertThat(RunningProxies.admin(p, "/stats")).contains("authz.rbac.allowed: 0");
    assertThat(a.connections.get()).isZero();
  }

  @Test
  void aDenyPolicyBeforeAnAllowPolicyClosesWhatItMatches() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    String deny = rbacFilter("deny_first", "DENY", "loopback", "{ any: true }", "{ source_ip: { address_prefix: 127.0.0.1, prefix_len: 32 } }");
    ProxyServer p = proxies.start(withRbac(deny + rbacFilter("{ any: true }", ""), a.port()), 2);
    assertThat(TcpExchange.plain(p.listenerAddress("tcp").getPort(), "x")).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains("deny_first.rbac.denied: 1"));
    // The ALLOW filter behind it never ran.
    assertThat(RunningProxies.admin(p, "/stats")).contains("authz.rbac.allowed: 0");
    assertThat(a.connections.get()).isZero();
  }

  @Test
  void principalsComeFromTheVerifiedClientCertificateOfATerminatedTlsConnection() throws Exception {
    TestCa ca = new TestCa("rbac-ca");
    Path dir = Files.createTempDirectory("tcp-rbac");
    Path cert = ca.issue("proxy", "a.test").write(dir, "proxy");
    ca.write(dir, "ca.crt");
    EchoServer a = proxies.keep(new EchoServer("a", null));
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
    ProxyServer p = proxies.start(yaml, 2);
    int port = p.listenerAddress("tcp").getPort();
    SSLContext allowed = ca.issue("client", "spiffe://test/ns/default/sa/client").clientContext(ca);
    SSLContext other = ca.issue("other", "spiffe://test/ns/default/sa/other").clientContext(ca);
    assertThat(TcpExchange.tls(other, port, "a.test").echo()).isEqualTo(CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains("authz.rbac.denied: 1"));
    assertThat(a.connections.get()).isZero();
    assertThat(TcpExchange.tls(allowed, port, "a.test").echo()).isEqualTo("a:hi");
    assertThat(a.connections.get()).isEqualTo(1);
    assertThat(RunningProxies.admin(p, "/stats")).contains("authz.rbac.allowed: 1").contains("authz.rbac.denied: 1");
  }

  @Test
  void sniRoutedChainsCheckTheRequestedServerName() throws Exception {
    TestCa ca = new TestCa("sni-rbac-ca");
    TestCa.Leaf certB = ca.issue("wild.b.test", "*.b.test");
    EchoServer b = proxies.keep(new EchoServer("b", SslContextBuilder.forServer(certB.key(), certB.cert()).build()));
    String xOnly = rbacFilter("sni_authz", "ALLOW", "x-only", "{ requested_server_name: { exact: x.b.test } }", "{ any: true }");
    String yaml = TlsYaml.sniListener("tls", TlsYaml.passthroughChain("server_names: [\"*.b.test\"]", xOnly, "sni_b", "b"),
        cluster("b", "ROUND_ROBIN", b.port()));
    ProxyServer p = proxies.start(yaml, 2);
    int port = p.listenerAddress("tls").getPort();
    assertThat(TcpExchange.tls(ca.clientContext(), port, "y.b.test").echo()).isEqualTo(CLOSED);
    assertThat(b.connections.get()).isZero();
    assertThat(TcpExchange.tls(ca.clientContext(), port, "x.b.test").echo()).isEqualTo("b:hi");
    assertThat(b.connections.get()).isEqualTo(1);
    assertThat(RunningProxies.admin(p, "/stats")).contains("sni_authz.rbac.allowed: 1").contains("sni_authz.rbac.denied: 1");
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
