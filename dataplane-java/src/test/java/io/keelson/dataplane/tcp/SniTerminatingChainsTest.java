package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import io.keelson.dataplane.testing.TcpExchange.TlsReply;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One TLS port, several tcp_proxy filter chains selected by {@code server_names}: some terminate TLS with their own
 * certificate (a DownstreamTlsContext each) and relay the plaintext to their own backend, one passes TLS through to a
 * backend that terminates it; an unknown name is closed. Each client trusts only its own chain's CA, so a wrong
 * certificate fails its handshake. Real sockets.
 */
class SniTerminatingChainsTest {
  @TempDir Path dir;
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A filter_chains item (indented 4) terminating TLS with {@code cert} and relaying the plaintext to {@code cluster}. */
  private String terminatingChain(String serverNames, String cert, String statPrefix, String cluster) {
    String match = serverNames == null ? "" : "    - filter_chain_match: { " + serverNames + " }\n";
    String body = """
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  common_tls_context:
                    tls_certificates:
                    - certificate_chain: { filename: "%s" }
                      private_key: { filename: "%s" }
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: %s
                  cluster: %s
        """.formatted(dir.resolve(cert + ".crt"), dir.resolve(cert + ".key"), statPrefix, cluster);
    return serverNames == null ? "    - " + body.substring(6) : match + body;
  }

  @Test
  void eachServerNameGetsItsOwnCertificateAndBackendTerminatedOrPassedThrough() throws Exception {
    TestCa dbCa = new TestCa("db-ca");
    TestCa mqCa = new TestCa("mq-ca");
    TestCa passCa = new TestCa("pass-ca");
    dbCa.issue("db.example.test", "db.example.test").write(dir, "db");
    mqCa.issue("wild.mq.example.test", "*.mq.example.test").write(dir, "mq");
    TestCa.Leaf pass = passCa.issue("pass.example.test", "pass.example.test");
    // Plaintext backends for the terminating chains, a TLS backend for the passthrough one (one-letter names: a
    // 4-byte echo).
    EchoServer d = proxies.keep(new EchoServer("d", null));
    EchoServer m = proxies.keep(new EchoServer("m", null));
    EchoServer p = proxies.keep(new EchoServer("p", SslContextBuilder.forServer(pass.key(), pass.cert()).build()));
    String yaml = TlsYaml.sniListener("tls",
        terminatingChain("server_names: [\"db.example.test\"]", "db", "term_db", "db")
            + terminatingChain("server_names: [\"*.mq.example.test\"]", "mq", "term_mq", "mq")
            + TlsYaml.passthroughChain("server_names: [\"pass.example.test\"]", "", "pass", "pass"),
        cluster("db", "ROUND_ROBIN", d.port()) + cluster("mq", "ROUND_ROBIN", m.port())
            + cluster("pass", "ROUND_ROBIN", p.port()));
    ProxyServer proxy = proxies.start(yaml, 2);
    int port = proxy.listenerAddress("tls").getPort();

    assertThat(TcpExchange.tls(dbCa.clientContext(), port, "db.example.test"))
        .isEqualTo(new TlsReply("CN=db.example.test", "d:hi"));
    assertThat(TcpExchange.tls(mqCa.clientContext(), port, "a.mq.example.test"))
        .isEqualTo(new TlsReply("CN=wild.mq.example.test", "m:hi"));
    assertThat(TcpExchange.tls(passCa.clientContext(), port, "pass.example.test")).as("passed through: the backend's certificate")
        .isEqualTo(new TlsReply("CN=pass.example.test", "p:hi"));
    assertThat(TcpExchange.tls(dbCa.clientContext(), port, "a.mq.example.test")).as("mq's certificate is not db's CA's")
        .isEqualTo(new TlsReply(null, TcpExchange.CLOSED));
    assertThat(TcpExchange.tls(dbCa.clientContext(), port, "other.example.test")).as("no chain for the name")
        .isEqualTo(new TlsReply(null, TcpExchange.CLOSED));
    assertThat(d.connections.get()).isEqualTo(1);
    // As on a single-chain TLS listener, tcp_proxy connects upstream when its chain is chosen, before the handshake: the client that
    // refused mq's certificate may have opened (and at once closed) a second connection to mq's backend.
    assertThat(m.connections.get()).isBetween(1, 2);
    assertThat(p.connections.get()).isEqualTo(1);
    assertThat(proxy.stats().tls("listener.tls").handshake.sum()).as("handshakes the proxy completed").isEqualTo(2);
  }

  @Test
  void aNameNoChainNamesGoesToTheTerminatingChainWithoutServerNames() throws Exception {
    TestCa ca = new TestCa("default-ca");
    ca.issue("db.example.test", "db.example.test").write(dir, "db");
    ca.issue("default.example.test", "default.example.test").write(dir, "default");
    EchoServer d = proxies.keep(new EchoServer("d", null));
    EchoServer f = proxies.keep(new EchoServer("f", null));
    String yaml = TlsYaml.sniListener("tls",
        terminatingChain("server_names: [\"db.example.test\"]", "db", "term_db", "db")
            + terminatingChain(null, "default", "term_default", "fallback"),
        cluster("db", "ROUND_ROBIN", d.port()) + cluster("fallback", "ROUND_ROBIN", f.port()));
    ProxyServer proxy = proxies.start(yaml, 2);
    int port = proxy.listenerAddress("tls").getPort();
    assertThat(TcpExchange.tls(ca.clientContext(), port, "db.example.test"))
        .isEqualTo(new TlsReply("CN=db.example.test", "d:hi"));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "other.example.test"))
        .isEqualTo(new TlsReply("CN=default.example.test", "f:hi"));
  }

  @Test
  void aTerminatingChainRunsItsOwnNetworkRbacAfterItsHandshake() throws Exception {
    TestCa ca = new TestCa("rbac-ca");
    ca.issue("db.example.test", "db.example.test").write(dir, "db");
    ca.issue("mq.example.test", "mq.example.test").write(dir, "mq");
    EchoServer d = proxies.keep(new EchoServer("d", null));
    EchoServer m = proxies.keep(new EchoServer("m", null));
    String denyAll = """
              - name: envoy.filters.network.rbac
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                  stat_prefix: db_authz
                  rules:
                    action: DENY
                    policies:
                      everyone: { permissions: [ { any: true } ], principals: [ { any: true } ] }
        """;
    String yaml = TlsYaml.sniListener("tls",
        terminatingChain("server_names: [\"db.example.test\"]", "db", "term_db", "db")
            .replace("      - name: envoy.filters.network.tcp_proxy\n", denyAll + "      - name: envoy.filters.network.tcp_proxy\n")
            + terminatingChain("server_names: [\"mq.example.test\"]", "mq", "term_mq", "mq"),
        cluster("db", "ROUND_ROBIN", d.port()) + cluster("mq", "ROUND_ROBIN", m.port()));
    ProxyServer proxy = proxies.start(yaml, 2);
    int port = proxy.listenerAddress("tls").getPort();
    assertThat(TcpExchange.tls(ca.clientContext(), port, "db.example.test")).as("db's chain denies after its handshake")
        .isEqualTo(new TlsReply("CN=db.example.test", TcpExchange.CLOSED));
    assertThat(TcpExchange.tls(ca.clientContext(), port, "mq.example.test")).as("mq's chain has no RBAC")
        .isEqualTo(new TlsReply("CN=mq.example.test", "m:hi"));
    assertThat(d.connections.get()).as("denied before any upstream connection").isZero();
  }
}
