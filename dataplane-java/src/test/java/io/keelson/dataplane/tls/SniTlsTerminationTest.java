package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HTTPS listener with several TLS filter chains selected by {@code filter_chain_match.server_names},
 * each with its own certificate: the client asks for a name (SNI), checks the certificate it gets
 * against that name (endpoint identification) and is proxied. Real sockets.
 */
class SniTlsTerminationTest {
  static TestCa ca;
  @TempDir static Path dir;

  private TestUpstream upstream;
  private ProxyServer proxy;

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("keelson-test-ca");
    ca.issue("a.test", "a.test").write(dir, "a");
    ca.issue("wild.b.test", "*.b.test").write(dir, "b");
    ca.issue("default.test", "default.test").write(dir, "default");
  }

  private static String chain(String names, String cert) {
    return TlsYaml.httpsChain(names, dir.resolve(cert + ".crt"), dir.resolve(cert + ".key"), "", "", TlsYaml.ALL_TO_BACKEND);
  }

  static String yaml(String chains, int upstreamPort) {
    return TlsYaml.sniListener("ingress", chains, TlsYaml.cluster(upstreamPort, null));
  }

  @BeforeEach
  void start() throws Exception {
    upstream = new TestUpstream("backend");
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    upstream.close();
  }

  private int startProxy(String chains) throws Exception {
    proxy = new ProxyServer(BootstrapLoader.fromYaml(yaml(chains, upstream.port()), "test.yaml"),
        ProxyOptions.defaults().withConcurrency(1).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1))).start();
    return proxy.listenerAddress("ingress").getPort();
  }

  /** Connects asking for {@code sni} (none when null), checks the certificate against {@code verifyAs}, sends a GET. */
  private static String[] get(int port, String sni, String verifyAs) throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
      if (verifyAs != null) {
        params.setEndpointIdentificationAlgorithm("HTTPS"); // the client checks the certificate's names
      }
      s.setSSLParameters(params);
      s.startHandshake();
      String subject = ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
      s.getOutputStream().write(("GET /hello HTTP/1.1\r\nHost: " + (sni == null ? "x" : sni) + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return new String[] {subject, response.lines().findFirst().orElse("")};
    }
  }

  @Test
  void eachServerNameGetsItsChainsCertificateAndIsProxied() throws Exception {
    int port = startProxy(chain("server_names: [\"a.test\"]", "a") + chain("server_names: [\"*.b.test\"]", "b")
        + chain("", "default"));
    assertThat(get(port, "a.test", "a.test")).containsExactly("CN=a.test", "HTTP/1.1 200 OK");
    assertThat(get(port, "api.b.test", "api.b.test")).containsExactly("CN=wild.b.test", "HTTP/1.1 200 OK");
    assertThat(get(port, "other.test", null)).containsExactly("CN=default.test", "HTTP/1.1 200 OK");
    assertThat(get(port, null, null)).containsExactly("CN=default.test", "HTTP/1.1 200 OK");
    assertThat(upstream.requests.get()).isEqualTo(4);
  }

  @Test
  void aNameNoChainServesIsRefusedWhenThereIsNoDefaultChain() throws Exception {
    int port = startProxy(chain("server_names: [\"a.test\"]", "a") + chain("server_names: [\"*.b.test\"]", "b"));
    assertThat(get(port, "a.test", "a.test")[0]).isEqualTo("CN=a.test");
    assertThatThrownBy(() -> get(port, "c.test", null)).isInstanceOfAny(SSLHandshakeException.class, IOException.class);
  }
}
