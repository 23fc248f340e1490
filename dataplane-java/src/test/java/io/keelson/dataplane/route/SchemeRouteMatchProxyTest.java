package io.keelson.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Route header matchers on {@code :scheme}, as Envoy: HTTP/1.1 requests have {@code https} on a TLS connection and
 * {@code http} otherwise (per connection on a TLS-or-plaintext listener, {@code x-forwarded-proto} too); HTTP/2 requests
 * the {@code :scheme} their client sent. Real curl and nghttp clients.
 */
class SchemeRouteMatchProxyTest {
  /** Routes answering which scheme matched (items indented 14 spaces). */
  private static final String ROUTES = """
                    - match: { prefix: "/", headers: [{ name: ":scheme", string_match: { exact: https } }] }
                      direct_response: { status: 200, body: { inline_string: "matched https" } }
                    - match: { prefix: "/", headers: [{ name: ":scheme", string_match: { exact: http } }] }
                      direct_response: { status: 200, body: { inline_string: "matched http" } }
                    - match: { prefix: "/" }
                      direct_response: { status: 404, body: { inline_string: "no scheme" } }
      """;
  private static final String CLUSTER = ProxyHarness.cluster("backend", "ROUND_ROBIN", 9);

  static TestCa ca;
  @TempDir static Path dir;
  static Path cert;
  static Path key;

  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("scheme-test-ca");
    cert = ca.issue("proxy.test", "proxy.test", "localhost").write(dir, "server");
    key = dir.resolve("server.key");
    ca.write(dir, "ca.crt");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  @Test
  void httpsConnectionsMatchHttpsOverHttp1AndHttp2() throws Exception {
    ProxyServer p = proxies.start(TlsYaml.httpsListener(cert, key, "",
        "            alpn_protocols: [\"h2\", \"http/1.1\"]\n", ROUTES, CLUSTER), 1);
    String url = "https://localhost:" + p.listenerAddress("ingress").getPort() + "/x";
    String ca = dir.resolve("ca.crt").toString();
    assertThat(run("curl", "-sS", "--http1.1", "--cacert", ca, url)).isEqualTo("matched https");
    assertThat(run("curl", "-sS", "--http2", "--cacert", ca, "-w", " %{http_version}", url))
        .isEqualTo("matched https 2");
  }

  @Test
  void cleartextConnectionsMatchHttpAndHttp2KeepsTheClientsScheme() throws Exception {
    ProxyServer p = proxies.start(ProxyHarness.bootstrap("""
                    - name: all
                      domains: ["*"]
                      routes:
        """ + ROUTES, CLUSTER), 1);
    String url = "http://127.0.0.1:" + p.listenerAddress("ingress").getPort() + "/x";
    assertThat(run("curl", "-sS", "--http1.1", url)).isEqualTo("matched http");
    // An HTTP/1.1 client cannot claim https on a cleartext connection: Envoy reads the connection, not a header.
    assertThat(run("curl", "-sS", "--http1.1", "-H", "x-forwarded-proto: https", url)).isEqualTo("matched http");
    assertThat(run("curl", "-sS", "--http2-prior-knowledge", url)).isEqualTo("matched http");
    // HTTP/2: the client's :scheme, as Envoy's default (no scheme_header_transformation).
    assertThat(run("nghttp", "-H", ":scheme: https", url)).isEqualTo("matched https");
  }

  /**
   * Istio's PERMISSIVE shape (a {@code transport_protocol: tls} chain and a plaintext one on one port): the scheme and
   * {@code x-forwarded-proto} follow each connection's TLS, not the listener's, as Envoy's {@code connection.ssl()}.
   */
  @Test
  void aTlsOrPlaintextListenerTellsEachConnectionsScheme() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    int port = tlsOrPlaintextListener(up);
    String ca = dir.resolve("ca.crt").toString();
    assertThat(run("curl", "-sS", "--cacert", ca, "https://localhost:" + port + "/x")).isEqualTo("matched https");
    assertThat(run("curl", "-sS", "http://127.0.0.1:" + port + "/x")).isEqualTo("matched http");
    run("curl", "-sS", "-o", "/dev/null", "http://127.0.0.1:" + port + "/xfp");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "http");
    run("curl", "-sS", "-o", "/dev/null", "--cacert", ca, "https://localhost:" + port + "/xfp");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "https");
  }

  /** The same over HTTP/2: a plaintext h2c client is sent as {@code http}, an h2-over-TLS one as {@code https}. */
  @Test
  void aTlsOrPlaintextListenerTellsEachHttp2ConnectionsForwardedProto() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    int port = tlsOrPlaintextListener(up);
    String h2c = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--http2-prior-knowledge",
        "http://127.0.0.1:" + port + "/xfp");
    assertThat(h2c).isEqualTo("2 200");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "http");
    String h2 = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--http2", "--cacert",
        dir.resolve("ca.crt").toString(), "https://localhost:" + port + "/xfp");
    assertThat(h2).isEqualTo("2 200");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "https");
  }

  /** Istio's PERMISSIVE shape on one port: a TLS chain and a plaintext chain, {@code /xfp} to {@code up}. */
  private int tlsOrPlaintextListener(TestUpstream up) throws Exception {
    String routes = """
                    - match: { prefix: "/xfp" }
                      route: { cluster: backend }
      """ + ROUTES;
    String tlsChain = TlsYaml.httpsChain("transport_protocol: tls", cert, key, "",
        "            alpn_protocols: [h2, \"http/1.1\"]", routes);
    String plainChain = "    - filter_chain_match: { transport_protocol: raw_buffer }\n"
        + tlsChain.substring(tlsChain.indexOf("      filters:"));
    ProxyServer p = proxies.start(ProxyHarness.listener("ingress", """
            - name: envoy.filters.listener.tls_inspector
              typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }
        """, tlsChain + plainChain, TlsYaml.cluster(up.port(), null)), 1);
    return p.listenerAddress("ingress").getPort();
  }

  private static String run(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(command));
    cmd.add(1, command[0].equals("curl") ? "-m" : "-t");
    cmd.add(2, "10");
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return out.strip();
  }
}
