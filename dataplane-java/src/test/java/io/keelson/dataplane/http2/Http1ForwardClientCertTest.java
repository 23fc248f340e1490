package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.file.Path;
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
  static final String FIRST = "By=spiffe://test/ns/default/sa/a;URI=spiffe://test/ns/default/sa/origin";
  static final String SECOND = "By=spiffe://test/ns/default/sa/b;URI=spiffe://test/ns/default/sa/a";
  static final String XFCC = XfccPeers.XFCC;

  @TempDir static Path dir;
  static XfccPeers peers;
  static String element;

  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    peers = XfccPeers.issue(dir, "keelson-xfcc-h1-test-ca");
    element = peers.element;
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** An mTLS listener (ALPN http/1.1) to "backend" with {@code hcmFields} in its connection manager. */
  private static String mtlsYaml(String hcmFields, int backendPort) {
    String routes = """
                    - match: { prefix: "/" }
                      route: { cluster: backend }
      """;
    return peers.mtlsYaml("http/1.1", routes, ProxyHarness.cluster("backend", "ROUND_ROBIN", backendPort), hcmFields);
  }

  /** curl --http1.1 with the client certificate and the given header lines; returns "<version> <status>". */
  private static String curl(int port, String path, String... headerLines) throws Exception {
    return peers.curl("--http1.1", port, path, headerLines);
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
