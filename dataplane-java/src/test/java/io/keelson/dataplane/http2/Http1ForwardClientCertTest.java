package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code forward_client_cert_details} on HTTP/1.1 over mutual TLS (curl presenting a SPIFFE certificate) with
 * several client x-forwarded-client-cert header lines: Envoy reads them as one comma-separated list, so
 * APPEND_FORWARD keeps all of them (joined) and appends this hop's element once, and SANITIZE removes all.
 * The HTTP/2 counterpart is {@link Http2ForwardClientCertTest}.
 */
class Http1ForwardClientCertTest {
  static final String PROXY_ID = "spiffe://test/ns/default/sa/proxy";
  static final String CLIENT_ID = "spiffe://test/ns/default/sa/client";
  static final String FIRST = "By=spiffe://test/ns/default/sa/a;URI=spiffe://test/ns/default/sa/origin";
  static final String SECOND = "By=spiffe://test/ns/default/sa/b;URI=spiffe://test/ns/default/sa/a";
  static final String XFCC = "x-forwarded-client-cert";

  @TempDir static Path dir;
  static Path serverCert;
  static Path clientCert;
  static Path caFile;
  static String element;

  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    TestCa ca = new TestCa("keelson-xfcc-h1-test-ca");
    serverCert = ca.issue("proxy.test", "proxy.test", "localhost", PROXY_ID).write(dir, "server");
    TestCa.Leaf client = ca.issue("client", CLIENT_ID);
    clientCert = client.write(dir, "client");
    caFile = ca.write(dir, "ca.crt");
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(client.cert().getEncoded()));
    element = "By=" + PROXY_ID + ";Hash=" + hash + ";URI=" + CLIENT_ID;
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** An mTLS listener (ALPN http/1.1) to "backend" with {@code hcmFields} in its connection manager. */
  private static String mtlsYaml(String hcmFields, int backendPort) {
    String tlsExtra = "          require_client_certificate: true\n";
    String common = "            alpn_protocols: [http/1.1]\n"
        + "            validation_context:\n              trusted_ca: { filename: \"" + caFile + "\" }\n";
    String routes = """
                    - match: { prefix: "/" }
                      route: { cluster: backend }
      """;
    String yaml = TlsYaml.httpsListener(serverCert, dir.resolve("server.key"), tlsExtra, common, routes,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", backendPort));
    String anchor = "stat_prefix: ingress_https";
    int at = yaml.indexOf(anchor);
    assertThat(at).as("layout").isPositive();
    String indent = " ".repeat(at - yaml.lastIndexOf('\n', at) - 1);
    int eol = yaml.indexOf('\n', at) + 1;
    StringBuilder extra = new StringBuilder();
    hcmFields.stripIndent().lines().forEach(l -> extra.append(indent).append(l).append('\n'));
    return yaml.substring(0, eol) + extra + yaml.substring(eol);
  }

  /** curl --http1.1 over TLS with the client certificate and the given header lines; returns "<version> <status>". */
  private static String curl(int port, String path, String... headerLines) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
        "--cacert", caFile.toString(), "--cert", clientCert.toString(), "--key", dir.resolve("client.key").toString()));
    for (String h : headerLines) {
      cmd.addAll(List.of("-H", h));
    }
    cmd.add("https://localhost:" + port + path);
    Process curl = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new String(curl.getInputStream().readAllBytes());
  }

  @Test
  void appendForwardJoinsEveryClientXfccLineAndAppendsTheElementOnce() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(mtlsYaml("""
        forward_client_cert_details: APPEND_FORWARD
        set_current_client_cert_details: { uri: true }
        """, up.port()), 1);
    int port = p.listenerAddress("ingress").getPort();

    assertThat(curl(port, "/two-lines", XFCC + ": " + FIRST, XFCC + ": " + SECOND)).isEqualTo("1.1 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(FIRST + "," + SECOND + "," + element);
    assertThat(curl(port, "/one-line", XFCC + ": " + FIRST)).isEqualTo("1.1 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(FIRST + "," + element);
    assertThat(curl(port, "/none")).isEqualTo("1.1 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(element);
    assertThat(up.requestLines).containsExactly("GET /two-lines HTTP/1.1", "GET /one-line HTTP/1.1", "GET /none HTTP/1.1");
  }

  @Test
  void sanitizeRemovesEveryClientXfccLine() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(mtlsYaml("forward_client_cert_details: SANITIZE\n", up.port()), 1);
    assertThat(curl(p.listenerAddress("ingress").getPort(), "/sanitized", XFCC + ": " + FIRST, XFCC + ": " + SECOND))
        .isEqualTo("1.1 200");
    assertThat(up.requestLines).containsExactly("GET /sanitized HTTP/1.1");
    assertThat(up.lastHeaders).doesNotContainKey(XFCC).containsKey("x-forwarded-proto");
  }
}
