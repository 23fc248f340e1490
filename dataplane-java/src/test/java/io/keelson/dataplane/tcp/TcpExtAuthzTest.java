package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.testing.TcpExchange.CLOSED;
import static io.keelson.dataplane.tcp.TcpProxyTest.tcpListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.extauthz.GrpcAuthzServer;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * envoy.filters.network.ext_authz in front of tcp_proxy, through a real proxy, a real grpc-java authorization server
 * ({@link GrpcAuthzServer}: allows by source port or source principal) and a real TCP echo backend: one Check per
 * connection before anything reaches the backend; a denied or failed check closes the connection with no backend
 * connection (the backend's accepts are counted); failure_mode_allow lets it through; filter_enabled_metadata reads
 * a shadow network RBAC filter's result, as istiod configures CUSTOM.
 */
class TcpExtAuthzTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** The network ext_authz filter (at the filter list's indentation) to cluster {@code authz}, with extra lines. */
  static String extAuthzFilter(String extra) {
    return """
              - name: envoy.filters.network.ext_authz
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz
                  stat_prefix: tcp_authz
                  grpc_service:
                    envoy_grpc: { cluster_name: authz }
                    timeout: 5s
        """ + extra;
  }

  /** The tcp listener to cluster {@code a} with {@code filters} before its tcp_proxy, and the HTTP/2 cluster {@code authz}. */
  private static String withFilters(String filters, int upstreamPort, int authzPort) {
    return tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", upstreamPort)
            + cluster("authz", "ROUND_ROBIN", authzPort) + "    http2_protocol_options: {}\n")
        .replace("      - name: envoy.filters.network.tcp_proxy\n", filters + "      - name: envoy.filters.network.tcp_proxy\n");
  }

  /** Connects from a port the test picks first (so the server can be told to allow it), sends, half-closes, reads all. */
  private static String exchange(int port, String send, java.util.Set<Integer> allow) throws Exception {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      if (allow != null) {
        allow.add(s.getLocalPort());
      }
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(send.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      } catch (SocketException e) {
        return CLOSED;
      }
    }
  }

  private static String stats(ProxyServer p) throws Exception {
    return RunningProxies.admin(p, "/stats");
  }

  @Test
  void anAllowedConnectionIsRelayedAndADeniedOneClosedBeforeTheBackendSeesIt() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    GrpcAuthzServer authz = proxies.keep(new GrpcAuthzServer());
    ProxyServer p = proxies.start(withFilters(extAuthzFilter(""), a.port(), authz.port()), 2);
    int port = p.listenerAddress("tcp").getPort();

    assertThat(exchange(port, "ping", authz.allowedSourcePorts)).isEqualTo("a:ping|bye");
    assertThat(a.connections.get()).isEqualTo(1);
    assertThat(authz.checks).hasSize(1);
    AttributeContext attrs = authz.checks.getFirst().getAttributes();
    assertThat(attrs.getSource().getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
    assertThat(authz.allowedSourcePorts).contains(attrs.getSource().getAddress().getSocketAddress().getPortValue());
    assertThat(attrs.getDestination().getAddress().getSocketAddress().getPortValue()).isEqualTo(port);
    assertThat(attrs.getRequest().hasHttp()).isFalse();

    assertThat(exchange(port, "secret", null)).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats(p)).contains("ext_authz.tcp_authz.denied: 1"));
    assertThat(a.connections.get()).isEqualTo(1); // the denied connection never reached the backend
    assertThat(stats(p)).contains("ext_authz.tcp_authz.ok: 1").contains("ext_authz.tcp_authz.cx_closed: 1")
        .contains("ext_authz.tcp_authz.total: 2").contains("ext_authz.tcp_authz.error: 0");
  }

  @Test
  void aClientLeavingDuringItsCheckCancelsItAndFreesTheAuthzClustersSlot() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    GrpcAuthzServer authz = proxies.keep(new GrpcAuthzServer());
    authz.networkDelayMillis = 30_000;
    // max_requests: 1 on the authz cluster: a check left outstanding by a departed client would hold the only slot,
    // and the next connection's check would overflow (an error: closed).
    String yaml = withFilters(extAuthzFilter("").replace("timeout: 5s", "timeout: 60s"), a.port(), authz.port())
        .replace("    http2_protocol_options: {}\n",
            "    http2_protocol_options: {}\n    circuit_breakers: { thresholds: [ { max_requests: 1 } ] }\n");
    ProxyServer p = proxies.start(yaml, 2);
    int port = p.listenerAddress("tcp").getPort();
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.getOutputStream().write("held".getBytes(StandardCharsets.US_ASCII));
      await().atMost(Duration.ofSeconds(10)).until(() -> authz.checks.size() == 1);
      assertThat(stats(p)).contains("ext_authz.tcp_authz.active: 1");
      s.setSoLinger(true, 0); // a reset: a FIN alone is a half-close, which (as in Envoy) keeps the check going
    } // the client leaves while its check is outstanding
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(stats(p)).contains("ext_authz.tcp_authz.active: 0"));
    authz.networkDelayMillis = 0;
    assertThat(exchange(port, "next", authz.allowedSourcePorts)).isEqualTo("a:next|bye");
    assertThat(a.connections.get()).as("the departed client's bytes never reached the backend").isEqualTo(1);
    assertThat(stats(p)).contains("ext_authz.tcp_authz.ok: 1").contains("ext_authz.tcp_authz.error: 0");
  }

  @Test
  void aDeadAuthorizationServerClosesUnlessFailureModeAllow() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    int dead = TestUpstream.closedPort();
    ProxyServer closed = proxies.start(withFilters(extAuthzFilter(""), a.port(), dead), 2);
    assertThat(exchange(closed.listenerAddress("tcp").getPort(), "x", null)).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats(closed)).contains("ext_authz.tcp_authz.error: 1"));
    assertThat(stats(closed)).contains("ext_authz.tcp_authz.cx_closed: 1").contains("ext_authz.tcp_authz.failure_mode_allowed: 0");
    assertThat(a.connections.get()).isZero();

    ProxyServer open = proxies.start(withFilters(extAuthzFilter("          failure_mode_allow: true\n"), a.port(), dead), 2);
    assertThat(exchange(open.listenerAddress("tcp").getPort(), "x", null)).isEqualTo("a:x|bye");
    assertThat(a.connections.get()).isEqualTo(1);
    assertThat(stats(open)).contains("ext_authz.tcp_authz.error: 1").contains("ext_authz.tcp_authz.failure_mode_allowed: 1")
        .contains("ext_authz.tcp_authz.cx_closed: 0");
  }

  @Test
  void theSourcePrincipalIsTheClientCertificatesUriSanAfterTheHandshake() throws Exception {
    TestCa ca = new TestCa("netauthz-ca");
    Path dir = Files.createTempDirectory("tcp-ext-authz");
    Path cert = ca.issue("proxy", "spiffe://test/ns/default/sa/server").write(dir, "proxy");
    ca.write(dir, "ca.crt");
    EchoServer a = proxies.keep(new EchoServer("a", null));
    GrpcAuthzServer authz = proxies.keep(new GrpcAuthzServer());
    authz.allowedPrincipals.add("spiffe://test/ns/default/sa/client");
    String yaml = withFilters(extAuthzFilter("          include_peer_certificate: true\n"), a.port(), authz.port())
        .replace("    - filters:\n", """
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
    assertThat(a.connections.get()).isZero();
    assertThat(TcpExchange.tls(allowed, port, "a.test").echo()).isEqualTo("a:hi");
    assertThat(a.connections.get()).isEqualTo(1);
    assertThat(authz.checks).hasSize(2);
    AttributeContext attrs = authz.checks.get(1).getAttributes();
    assertThat(attrs.getSource().getPrincipal()).isEqualTo("spiffe://test/ns/default/sa/client");
    assertThat(attrs.getDestination().getPrincipal()).isEqualTo("spiffe://test/ns/default/sa/server");
    assertThat(java.net.URLDecoder.decode(attrs.getSource().getCertificate(), StandardCharsets.UTF_8))
        .startsWith("-----BEGIN CERTIFICATE-----\n");
  }

  /** A shadow network RBAC filter as istiod writes for CUSTOM, whose one policy matches {@code principal}. */
  private static String shadowRbac(String principal) {
    return """
              - name: envoy.filters.network.rbac
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                  stat_prefix: tcp.
                  shadow_rules_stat_prefix: istio_ext_authz_
                  shadow_rules:
                    action: DENY
                    policies:
                      "istio-ext-authz-ns[default]-policy[custom]-rule[0]":
                        permissions: [ { any: true } ]
                        principals: [ %s ]
        """.formatted(principal);
  }

  private static final String ENABLED_METADATA = """
                filter_enabled_metadata:
                  filter: envoy.filters.network.rbac
                  path: [ { key: istio_ext_authz_shadow_effective_policy_id } ]
                  value: { string_match: { prefix: istio-ext-authz } }
      """;

  @Test
  void filterEnabledMetadataChecksOnlyConnectionsTheShadowRbacPolicyMatched() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    GrpcAuthzServer authz = proxies.keep(new GrpcAuthzServer()); // allows nothing
    String notLoopback = "{ direct_remote_ip: { address_prefix: 10.0.0.0, prefix_len: 8 } }";
    ProxyServer skipped = proxies.start(withFilters(shadowRbac(notLoopback) + extAuthzFilter(ENABLED_METADATA), a.port(),
        authz.port()), 2);
    assertThat(exchange(skipped.listenerAddress("tcp").getPort(), "x", null)).isEqualTo("a:x|bye");
    assertThat(authz.checks).isEmpty();
    assertThat(stats(skipped)).contains("ext_authz.tcp_authz.disabled: 1");

    ProxyServer checked = proxies.start(withFilters(shadowRbac("{ any: true }") + extAuthzFilter(ENABLED_METADATA), a.port(),
        authz.port()), 2);
    assertThat(exchange(checked.listenerAddress("tcp").getPort(), "x", null)).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stats(checked)).contains("ext_authz.tcp_authz.denied: 1"));
    assertThat(authz.checks).hasSize(1);
    assertThat(a.connections.get()).isEqualTo(1);
  }

  @Test
  void translatesTheFilterAndRejectsBadOnesByPath() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(withFilters(shadowRbac("{ any: true }") + extAuthzFilter(ENABLED_METADATA), 9, 10),
        "test.yaml");
    var proxy = snapshot.listeners().getFirst().tcpProxy();
    assertThat(proxy.extAuthz().cluster()).isEqualTo("authz");
    assertThat(proxy.extAuthz().timeoutNanos()).isEqualTo(5_000_000_000L);
    assertThat(proxy.extAuthzAfter()).isEqualTo(1);
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilters(extAuthzFilter("").replace("          grpc_service:\n"
        + "            envoy_grpc: { cluster_name: authz }\n            timeout: 5s\n", ""), 9, 10), "test.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("filters[0].typed_config.grpc_service");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilters(extAuthzFilter("") + extAuthzFilter(""), 9, 10), "test.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("filters[1]").hasMessageContaining("one envoy.filters.network.ext_authz");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilters(extAuthzFilter("          bootstrap_metadata_labels_key: x\n"),
        9, 10), "test.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("bootstrap_metadata_labels_key");
  }
}
