package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.Ngtcp2Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A QUIC listener with several filter chains selected by {@code server_names}, as istiod emits for a gateway port with
 * several HTTPS servers: each chain its own certificate and its own connection manager (routes, stat prefix), chosen
 * by the ClientHello's SNI in Envoy's order (exact name, then the longest wildcard, then the chain without names).
 */
class Http3SniChainsTest extends Http3ListenerFixture {
  static Path certA;
  static Path certWild;
  static Path caFile;

  @BeforeAll
  static void chainCertificates() throws Exception {
    TestCa ca = new TestCa("keelson-h3-sni-ca");
    caFile = ca.write(dir, "ca.crt");
    certA = ca.issue("a.test", "a.test").write(dir, "a");
    certWild = ca.issue("wild.test", "*.test").write(dir, "wild");
  }

  /**
   * One QUIC chain (a {@code filter_chains} item) with {@code names}, the certificate {@code cert}, stat prefix
   * {@code chain_<cluster>} and routes to {@code cluster}; with {@code clientCa} (else "") client certificates are
   * required and checked against it.
   */
  static String chain(String names, Path cert, String cluster, String clientCa) {
    Path key = cert.resolveSibling(cert.getFileName().toString().replace(".crt", ".key"));
    String tls = clientCa.isEmpty() ? "" : "            require_client_certificate: true\n";
    String chain = QuicYaml.chain("chain_" + cluster, cert, key, tls, ProxyHarness.allTo(cluster), "", "")
        .replaceFirst("    - transport_socket:", "    - filter_chain_match: { server_names: " + names.replace("$", "\\$")
            + " }\n      transport_socket:");
    return clientCa.isEmpty() ? chain : chain.replace("              alpn_protocols: [h3]\n",
        "              alpn_protocols: [h3]\n              validation_context: { trusted_ca: { filename: \"" + clientCa
            + "\" } }\n");
  }

  static String listener(String chains) {
    return QuicYaml.listenerHead("h3", 0, "{}") + chains;
  }

  private ProxyServer start(String chains, int... ports) throws Exception {
    return proxies.start(QuicYaml.bootstrap(listener(chains), ProxyHarness.cluster("a", "ROUND_ROBIN", ports[0])
        + ProxyHarness.cluster("wild", "ROUND_ROBIN", ports[1])), 1);
  }

  @Test
  void eachSniGetsItsChainsCertificateAndRoutes() throws Exception {
    TestUpstream a = proxies.keep(new TestUpstream("a"));
    TestUpstream wild = proxies.keep(new TestUpstream("wild"));
    ProxyServer p = start(chain("[\"*.test\"]", certWild, "wild", "") + chain("[a.test]", certA, "a", ""),
        a.port(), wild.port());
    int port = p.listenerAddress("h3").getPort();

    // ngtcp2's client: the exact name before the wildcard, whatever their order in the listener
    Ngtcp2Client.Response toA = Ngtcp2Client.getWithSni(port, "a.test", "/x", dir);
    Ngtcp2Client.Response toWild = Ngtcp2Client.getWithSni(port, "b.test", "/y", dir);
    assertThat(toA.status()).as(toA.output()).isEqualTo(200);
    assertThat(toA.header("x-upstream")).isEqualTo("a");
    assertThat(toWild.status()).as(toWild.output()).isEqualTo(200);
    assertThat(toWild.header("x-upstream")).isEqualTo("wild");

    // Netty's client: the certificate served is the chain's
    try (H3Client c = new H3Client(port, "a.test")) {
      assertThat(c.send("GET", "/z").get(30, TimeUnit.SECONDS).headers()).containsEntry("x-upstream", "a");
      assertThat(c.peerCertificate().getSubjectX500Principal().getName()).isEqualTo("CN=a.test");
    }
    try (H3Client c = new H3Client(port, "c.test")) {
      assertThat(c.send("GET", "/z").get(30, TimeUnit.SECONDS).headers()).containsEntry("x-upstream", "wild");
      assertThat(c.peerCertificate().getSubjectX500Principal().getName()).isEqualTo("CN=wild.test");
    }
    // each chain's connection manager counts its own connections and requests
    assertThat(RunningProxies.admin(p, "/stats")).contains("http.chain_a.downstream_rq_total: 2")
        .contains("http.chain_wild.downstream_rq_total: 2").contains("http.chain_a.downstream_cx_total: 2")
        .contains("http.chain_wild.downstream_cx_total: 2");
  }

  @Test
  void aNameNoChainMatchesFailsTheHandshakeAndTheChainWithoutNamesTakesTheRest() throws Exception {
    TestUpstream a = proxies.keep(new TestUpstream("a"));
    TestUpstream wild = proxies.keep(new TestUpstream("wild"));
    ProxyServer p = start(chain("[a.test]", certA, "a", ""), a.port(), wild.port());
    int port = p.listenerAddress("h3").getPort();
    assertThat(Ngtcp2Client.getWithSni(port, "a.test", "/", dir).status()).isEqualTo(200);
    p.close();

    // two chains with names only: another name has no chain (Envoy: no filter chain match)
    ProxyServer two = start(chain("[a.test]", certA, "a", "") + chain("[b.test]", certWild, "wild", ""),
        a.port(), wild.port());
    int twoPort = two.listenerAddress("h3").getPort();
    assertThat(Ngtcp2Client.getWithSni(twoPort, "other.example", "/", dir).status())
        .isEqualTo(-1);
    assertThat(Ngtcp2Client.getWithSni(twoPort, "b.test", "/", dir).header("x-upstream"))
        .isEqualTo("wild");
    two.close();

    // a chain without server_names serves other names and clients sending none
    ProxyServer fallback = start(chain("[a.test]", certA, "a", "") + chain("[]", certWild, "wild", ""),
        a.port(), wild.port());
    int fallbackPort = fallback.listenerAddress("h3").getPort();
    assertThat(Ngtcp2Client.getWithSni(fallbackPort, "other.example", "/", dir)
        .header("x-upstream")).isEqualTo("wild");
    try (H3Client c = new H3Client(fallbackPort)) {
      assertThat(c.send("GET", "/").get(30, TimeUnit.SECONDS).headers()).containsEntry("x-upstream", "wild");
    }
  }

  @Test
  void refusesDuplicateNamesOtherMatchFieldsAndClientCertificatesOnSeveralChains() throws Exception {
    TestUpstream a = proxies.keep(new TestUpstream("a"));
    assertThatThrownBy(() -> start(chain("[a.test]", certA, "a", "") + chain("[A.test]", certWild, "wild", ""),
        a.port(), a.port()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("filter_chains[1].filter_chain_match.server_names")
        .hasMessageContaining("another chain has the same server_names");
    assertThatThrownBy(() -> start(chain("[a.test], transport_protocol: tls", certA, "a", ""), a.port(), a.port()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("filter_chains[0].filter_chain_match.transport_protocol");
    assertThatThrownBy(() -> start(chain("[a.test]", certA, "a", caFile.toString())
        + chain("[b.test]", certWild, "wild", ""), a.port(), a.port()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("filter_chains[0].transport_socket")
        .hasMessageContaining("client certificate validation on a QUIC listener with several chains");
  }
}
