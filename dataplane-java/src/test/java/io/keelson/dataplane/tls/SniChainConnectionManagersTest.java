package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HTTPS listener whose SNI-selected TLS chains each run their own HTTP connection manager (as an Istio
 * gateway's HTTPS servers on one port, each with its route config): after the handshake, the chosen chain's
 * routes serve the connection. Real sockets, a real TLS client, both pipeline wirings.
 */
class SniChainConnectionManagersTest {
  static TestCa ca;
  @TempDir static Path dir;

  private TestUpstream a;
  private TestUpstream b;
  private ProxyServer proxy;

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("keelson-test-ca");
    ca.issue("a.test", "a.test").write(dir, "a");
    ca.issue("wild.b.test", "*.b.test").write(dir, "b");
    ca.write(dir, "ca.crt");
  }

  @BeforeEach
  void start() throws Exception {
    a = new TestUpstream("a");
    b = new TestUpstream("b");
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    a.close();
    b.close();
  }

  private static String routeTo(String cluster) {
    return """
                    - match: { prefix: "/" }
                      route: { cluster: %s }
      """.formatted(cluster);
  }

  /** A chain for {@code names} with certificate {@code cert}, routing hosts {@code domains} to {@code cluster}. */
  private static String chain(String names, String cert, String tlsExtra, String common, String domains, String cluster,
      String statPrefix) {
    return TlsYaml.httpsChain(names, dir.resolve(cert + ".crt"), dir.resolve(cert + ".key"), tlsExtra, common, routeTo(cluster))
        .replace("domains: [\"*\"]", "domains: " + domains).replace("stat_prefix: ingress_https", "stat_prefix: " + statPrefix);
  }

  private int startProxy(String chains, PipelineMode mode) throws Exception {
    String clusters = ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()) + ProxyHarness.cluster("b", "ROUND_ROBIN", b.port());
    proxy = new ProxyServer(BootstrapLoader.fromYaml(TlsYaml.sniListener("ingress", chains, clusters), "test.yaml"),
        ProxyOptions.defaults().withConcurrency(1).withPipeline(mode).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1))).start();
    return proxy.listenerAddress("ingress").getPort();
  }

  /** A GET for {@code host} over TLS asking for {@code sni}: the status line and x-upstream header. */
  static String get(SSLContext client, int port, String sni, String host) throws Exception {
    try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(sni)));
      s.setSSLParameters(params);
      s.startHandshake();
      s.getOutputStream().write(("GET /hello HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      String upstream = response.lines().filter(l -> l.toLowerCase().startsWith("x-upstream:")).findFirst()
          .map(l -> l.substring("x-upstream:".length()).trim()).orElse("-");
      return response.lines().findFirst().orElse("") + " " + upstream;
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void oneHostIsRoutedByTheChainItsServerNameSelects(PipelineMode mode) throws Exception {
    int port = startProxy(chain("server_names: [\"a.test\"]", "a", "", "", "[\"*\"]", "a", "https_a")
        + chain("server_names: [\"*.b.test\"]", "b", "", "", "[\"*\"]", "b", "https_b"), mode);
    assertThat(get(ca.clientContext(), port, "a.test", "shared.test")).isEqualTo("HTTP/1.1 200 OK a");
    assertThat(get(ca.clientContext(), port, "api.b.test", "shared.test")).isEqualTo("HTTP/1.1 200 OK b");
    assertThat(a.requests.get()).isEqualTo(1);
    assertThat(b.requests.get()).isEqualTo(1);
    assertThat(proxy.stats().http("https_b").rqTotal.sum()).as("the chain's own stat prefix").isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aClientOfTheChainWithoutClientCertificatesCannotReachTheMutualChainsRoutes(PipelineMode mode) throws Exception {
    String mutual = chain("server_names: [\"a.test\"]", "a", "          require_client_certificate: true",
        "            validation_context: { trusted_ca: { filename: \"" + dir.resolve("ca.crt") + "\" } }",
        "[\"a.test\"]", "a", "https_mutual");
    String simple = chain("server_names: [\"*.b.test\"]", "b", "", "", "[\"api.b.test\"]", "b", "https_simple");
    int port = startProxy(mutual + simple, mode);

    assertThat(get(ca.clientContext(), port, "api.b.test", "a.test")).as("the MUTUAL host through the SIMPLE chain")
        .startsWith("HTTP/1.1 404");
    assertThatThrownBy(() -> get(ca.clientContext(), port, "a.test", "a.test")).as("no client certificate")
        .isInstanceOf(IOException.class);
    SSLContext withCert = ca.issue("client", "client.test").clientContext(ca);
    assertThat(get(withCert, port, "a.test", "a.test")).isEqualTo("HTTP/1.1 200 OK a");
    assertThat(get(ca.clientContext(), port, "api.b.test", "api.b.test")).isEqualTo("HTTP/1.1 200 OK b");
    assertThat(a.requests.get()).isEqualTo(1);
  }
}
