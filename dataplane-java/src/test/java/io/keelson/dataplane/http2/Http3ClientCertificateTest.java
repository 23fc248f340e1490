package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.Ngtcp2Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The client certificate of an HTTP/3 connection (QUIC's own TLS, no SslHandler) seen as on TCP: RBAC principals,
 * x-forwarded-client-cert and the access log's peer fields, with ngtcp2's client presenting SPIFFE certificates.
 */
class Http3ClientCertificateTest extends Http3ListenerFixture {
  private static final String CLIENT = "spiffe://test/ns/default/sa/client";

  static Path trusted;
  static String[] client;
  static String[] other;

  @BeforeAll
  static void clientCertificates() throws Exception {
    TestCa clients = new TestCa("keelson-h3-clients");
    trusted = clients.write(dir, "clients-ca.crt");
    client = QuicYaml.clientCertificateOptions(clients.issue("client", CLIENT), dir, "client");
    other = QuicYaml.clientCertificateOptions(clients.issue("other", "spiffe://test/ns/default/sa/other"), dir, "other");
  }

  private ProxyServer start(TestUpstream up, String filters, String hcmExtra) throws Exception {
    return proxies.start(QuicYaml.withClientTrust(h3Bootstrap("{}", ProxyHarness.allTo("backend"), filters, hcmExtra,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())), trusted), 1);
  }

  private static String rbacOnPrincipal(String action) {
    return """
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        action: %s
                        policies:
                          by-principal:
                            permissions: [ { any: true } ]
                            principals: [ { authenticated: { principal_name: { exact: "%s" } } } ]
        """.formatted(action, CLIENT);
  }

  /** ALLOW by principal serves only that client; DENY by principal refuses only it. */
  @ParameterizedTest
  @CsvSource({"ALLOW, true", "DENY, false"})
  void rbacByPrincipalMatchesTheHttp3ClientCertificate(String action, boolean principalServed) throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    int port = start(up, rbacOnPrincipal(action), "").listenerAddress("h3").getPort();

    Ngtcp2Client.Response principal = Ngtcp2Client.send("GET", port, "localhost", "/principal", null, dir, client);
    Ngtcp2Client.Response another = Ngtcp2Client.send("GET", port, "localhost", "/another", null, dir, other);

    assertThat(principal.status()).as(principal.output()).isEqualTo(principalServed ? 200 : 403);
    assertThat(another.status()).as(another.output()).isEqualTo(principalServed ? 403 : 200);
    assertThat(up.requestLines).containsExactly(principalServed ? "GET /principal HTTP/1.1" : "GET /another HTTP/1.1");
  }

  @Test
  void sanitizeSetForwardsTheClientCertificateAndTheAccessLogNamesItsUriSan() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    Path log = dir.resolve("h3-peer.log");
    String accessLog = QuicYaml.accessLog(log, "%PROTOCOL% %DOWNSTREAM_PEER_URI_SAN%\\n");
    String xfcc = """
                  forward_client_cert_details: SANITIZE_SET
                  set_current_client_cert_details: { uri: true }
        """;
    int port = start(up, "", xfcc + accessLog).listenerAddress("h3").getPort();

    Ngtcp2Client.Response r = Ngtcp2Client.send("GET", port, "localhost", "/xfcc", null, dir, client);

    assertThat(r.status()).as(r.output()).isEqualTo(200);
    assertThat(r.body()).containsPattern("x-forwarded-client-cert: Hash=[0-9a-f]{64};URI=" + CLIENT);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(Files.exists(log) ? Files.readString(log) : "").isEqualTo("HTTP/3 " + CLIENT + "\n"));
  }
}
