package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS termination and origination through a running proxy, against real TLS peers and a test CA. */
class TlsProxyTest {
  static TestCa ca;
  static TestCa otherCa;
  static TestCa.Leaf server;
  @TempDir static Path dir;
  static Path serverCert;
  static Path serverKey;

  private final RunningProxies proxies = new RunningProxies();
  /** Upstream validation_context fields (indented 12): the backend must be backend.test. */
  private static final String SAN_BACKEND_TEST = """
                  match_typed_subject_alt_names:
                  - san_type: DNS
                    matcher: { exact: backend.test }
      """;

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("keelson-test-ca");
    otherCa = new TestCa("other-ca");
    server = ca.issue("proxy.test", "proxy.test", "localhost");
    serverCert = server.write(dir, "server");
    serverKey = dir.resolve("server.key");
    ca.write(dir, "ca.crt");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
    System.clearProperty(TlsProvider.PROPERTY);
  }

  private TestUpstream upstream(io.netty.handler.ssl.SslContext tls) throws Exception {
    return proxies.keep(new TestUpstream("backend", tls));
  }

  private static HttpResponse<String> get(SSLContext ssl, int port, String path) throws Exception {
    HttpClient c = HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    return c.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private int port(ProxyServer p) {
    return p.listenerAddress("ingress").getPort();
  }

  @Test
  void servesHttpsToAJavaClientAndCountsTheHandshake() throws Exception {
    TestUpstream up = upstream(null);
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), null)), 1);
    HttpResponse<String> r = get(ca.clientContext(), port(p), "/hello");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(up.requestLines).contains("GET /hello HTTP/1.1");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "https");
    assertThat(RunningProxies.admin(p, "/stats")).contains("listener.ingress.ssl.handshake: 1");
  }

  @Test
  void servesHttpsToCurl() throws Exception {
    TestUpstream up = upstream(null);
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), null)), 1);
    Process curl = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}",
        "--cacert", dir.resolve("ca.crt").toString(), "https://localhost:" + port(p) + "/curl").redirectErrorStream(true).start();
    assertThat(curl.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(new String(curl.getInputStream().readAllBytes())).isEqualTo("200 0");
  }

  @Test
  void rejectsAClientThatTrustsAnotherCa() throws Exception {
    TestUpstream up = upstream(null);
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), null)), 1);
    assertThatThrownBy(() -> get(otherCa.clientContext(), port(p), "/"))
        .hasRootCauseInstanceOf(java.security.cert.CertPathBuilderException.class);
    assertThat(up.requests.get()).isZero();
  }

  @Test
  void clientCertificateRequiredListenerRejectsClientsWithoutOne() throws Exception {
    TestUpstream up = upstream(null);
    String extra = "          require_client_certificate: true\n";
    String common = "            validation_context:\n              trusted_ca: { filename: \"" + dir.resolve("ca.crt") + "\" }\n"
        + "              match_typed_subject_alt_names:\n              - san_type: URI\n"
        + "                matcher: { exact: \"spiffe://test/ns/default/sa/client\" }\n";
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, extra, common, TlsYaml.cluster(up.port(), null)), 1);
    assertThatThrownBy(() -> get(ca.clientContext(), port(p), "/")).isInstanceOf(java.io.IOException.class);
    TestCa.Leaf wrongSan = ca.issue("client", "spiffe://test/ns/default/sa/other");
    assertThatThrownBy(() -> get(wrongSan.clientContext(ca), port(p), "/")).isInstanceOf(java.io.IOException.class);
    TestCa.Leaf client = ca.issue("client", "spiffe://test/ns/default/sa/client");
    assertThat(get(client.clientContext(ca), port(p), "/mtls").statusCode()).isEqualTo(200);
    String stats = RunningProxies.admin(p, "/stats");
    // The JDK client may retry a failed handshake once, so failures count one or two each.
    assertThat(stats).contains("listener.ingress.ssl.handshake: 1");
    assertThat(stats).containsPattern("listener.ingress.ssl.fail_verify_san: [12]\n");
    assertThat(stats).containsPattern("listener.ingress.ssl.fail_verify_no_cert: [12]\n");
  }

  @Test
  void honoursTls12OnlyAndTls13OnlyParams() throws Exception {
    TestUpstream up = upstream(null);
    for (String only : List.of("TLSv1_2", "TLSv1_3")) {
      String common = "            tls_params: { tls_minimum_protocol_version: " + only + ", tls_maximum_protocol_version: " + only + " }\n";
      ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", common, TlsYaml.cluster(up.port(), null)), 1);
      String jsse = only.replace('_', '.').replace("TLSv1.", "TLSv1.");
      String other = jsse.equals("TLSv1.2") ? "TLSv1.3" : "TLSv1.2";
      assertThat(handshake(port(p), jsse)).isEqualTo(jsse);
      assertThatThrownBy(() -> handshake(port(p), other)).isInstanceOf(javax.net.ssl.SSLException.class);
    }
  }

  @Test
  void resumesTls12SessionsFromTheServerCache() throws Exception {
    TestUpstream up = upstream(null);
    String common = "            tls_params: { tls_maximum_protocol_version: TLSv1_2 }\n";
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", common, TlsYaml.cluster(up.port(), null)), 1);
    SSLContext client = ca.clientContext();
    byte[] first = sessionId(client, port(p));
    byte[] second = sessionId(client, port(p));
    assertThat(first).isNotEmpty();
    assertThat(second).as("the second connection resumes the first's session").isEqualTo(first);
  }

  @Test
  void newConnectionsGetTheCertificateOfTheCurrentSnapshot() throws Exception {
    TestUpstream up = upstream(null);
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), null)), 1);
    assertThat(peerSubject(port(p))).isEqualTo("CN=proxy.test");
    Path rotated = ca.issue("rotated.test", "localhost").write(dir, "rotated");
    p.update(BootstrapLoader.fromYaml(
        TlsYaml.httpsListener(rotated, dir.resolve("rotated.key"), "", "", TlsYaml.cluster(up.port(), null)), "t.yaml"));
    assertThat(peerSubject(port(p))).isEqualTo("CN=rotated.test");
  }

  private static String peerSubject(int port) throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("localhost", port)) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      return ((java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }
  }

  private static byte[] sessionId(SSLContext client, int port) throws Exception {
    try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("localhost", port)) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      return s.getSession().getId();
    }
  }

  private static String handshake(int port, String protocol) throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setProtocols(new String[] {protocol});
      s.setSSLParameters(params);
      s.startHandshake();
      return s.getSession().getProtocol();
    }
  }

  @Test
  void originatesTlsToAnUpstreamThatChainsToTheTrustedCa() throws Exception {
    TestCa.Leaf backend = ca.issue("backend", "backend.test");
    TestUpstream up = upstream(SslContextBuilder.forServer(backend.key(), backend.cert()).build());
    String tls = "        sni: backend.test\n" + TlsYaml.trustingCa(dir.resolve("ca.crt")) + SAN_BACKEND_TEST;
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), tls)), 1);
    for (int i = 0; i < 3; i++) {
      assertThat(get(ca.clientContext(), port(p), "/up" + i).statusCode()).isEqualTo(200);
    }
    assertThat(up.requests.get()).isEqualTo(3);
    assertThat(up.connections.get()).isEqualTo(1); // keep-alive reuse of the TLS connection
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.ssl.handshake: 1");
  }

  @Test
  void expiredUpstreamCertificateIsAConnectFailure() throws Exception {
    TestCa.Leaf expired = ca.issue("backend", Instant.now().minus(Duration.ofDays(10)), Instant.now().minus(Duration.ofDays(1)), "backend.test");
    TestUpstream up = upstream(SslContextBuilder.forServer(expired.key(), expired.cert()).build());
    String tls = TlsYaml.trustingCa(dir.resolve("ca.crt"));
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), tls)), 1);
    HttpResponse<String> r = get(ca.clientContext(), port(p), "/");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("CERTIFICATE_VERIFY_FAILED");
    assertThat(up.requests.get()).isZero();
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.ssl.fail_verify_error: 1");
  }

  @Test
  void upstreamSanMismatchIsAConnectFailureWithUf() throws Exception {
    TestCa.Leaf backend = ca.issue("backend", "someone-else.test");
    TestUpstream up = upstream(SslContextBuilder.forServer(backend.key(), backend.cert()).build());
    String tls = TlsYaml.trustingCa(dir.resolve("ca.crt")) + SAN_BACKEND_TEST;
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), tls)), 1);
    HttpResponse<String> r = get(ca.clientContext(), port(p), "/");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("SAN mismatch");
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.ssl.fail_verify_san: 1");
    assertThat(RunningProxies.admin(p, "/stats/prometheus")).contains("response_flags=\"UF\"");
  }

  @Test
  void jdkProviderServesTheSameTrafficWhenForced() throws Exception {
    System.setProperty(TlsProvider.PROPERTY, "jdk");
    TestUpstream up = upstream(null);
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), null)), 1);
    assertThat(p.snapshot().config().listeners().getFirst().tls().provider()).isEqualTo(io.netty.handler.ssl.SslProvider.JDK);
    assertThat(get(ca.clientContext(), port(p), "/jdk").statusCode()).isEqualTo(200);
  }

  @Test
  void boringSslIsTheDefaultWhenTcnativeLoads() throws Exception {
    TestUpstream up = upstream(null);
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(up.port(), null)), 1);
    assertThat(p.snapshot().config().listeners().getFirst().tls().provider())
        .isEqualTo(io.netty.handler.ssl.OpenSsl.isAvailable() ? io.netty.handler.ssl.SslProvider.OPENSSL : io.netty.handler.ssl.SslProvider.JDK);
    assertThat(io.netty.handler.ssl.OpenSsl.isAvailable()).as("tcnative loads on linux-x86_64").isTrue();
  }

  @Test
  void theHttpsExampleLoadsWithGeneratedCertificates() throws Exception {
    Path certs = Files.createDirectories(dir.resolve("example-certs"));
    server.write(certs, "proxy");
    ca.write(certs, "ca.crt");
    String yaml = Files.readString(Path.of("..", "examples", "tls", "https-proxy.yaml"))
        .replace("examples/tls/certs/", certs + "/");
    var snapshot = BootstrapLoader.fromYaml(yaml, "https-proxy.yaml");
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(snapshot.listeners().getFirst().tls()).isNotNull();
    assertThat(snapshot.cluster("tls_backend").tls().config().sni()).isEqualTo("backend.test");
  }

  @Test
  void startUpErrorsNameTheListenerAndTheField() throws Exception {
    Path missing = dir.resolve("missing.crt");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(TlsYaml.httpsListener(missing, serverKey, "", "", TlsYaml.cluster(1, null)), "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("listener 'ingress'")
        .hasMessageContaining("tls_certificates[0].certificate_chain")
        .hasMessageContaining("does not exist");
    Path bad = Files.writeString(dir.resolve("bad.crt"), "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(TlsYaml.httpsListener(bad, serverKey, "", "", TlsYaml.cluster(1, null)), "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("certificate_chain")
        .hasMessageContaining("no PEM certificate");
    Path otherKey = dir.resolve("other.key");
    ca.issue("other").write(dir, "other");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(TlsYaml.httpsListener(serverCert, otherKey, "", "", TlsYaml.cluster(1, null)), "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls_certificates[0].private_key")
        .hasMessageContaining("does not match the certificate");
    String upstreamTls = "        common_tls_context:\n          validation_context:\n            trusted_ca: { filename: \"" + missing + "\" }\n";
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(TlsYaml.httpsListener(serverCert, serverKey, "", "", TlsYaml.cluster(1, upstreamTls)), "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cluster 'backend'")
        .hasMessageContaining("validation_context.trusted_ca");
  }
}
