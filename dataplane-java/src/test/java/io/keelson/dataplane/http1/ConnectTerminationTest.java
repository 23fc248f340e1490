package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TcpEcho;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Envoy's CONNECT termination on HTTP/1.1 through a real proxy: curl's --proxytunnel reaching an HTTP backend, a raw
 * CONNECT to a TCP echo server (binary bytes both ways, half-close), and the refusals (403, 404, 503 UF); both wirings.
 */
class ConnectTerminationTest {
  private ProxyHarness proxy;
  private TcpEcho echo;
  private TestUpstream backend;

  @AfterEach
  void close() {
    if (proxy != null) {
      proxy.close();
    }
    if (echo != null) {
      echo.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  /** Every CONNECT to cluster {@code cluster}, ordinary requests to cluster "plain". */
  private static String connectRoutes(String cluster) {
    return """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { connect_matcher: {} }
                        route: { cluster: %s, upgrade_configs: [ { upgrade_type: CONNECT, connect_config: {} } ] }
                      - match: { prefix: "/" }
                        route: { cluster: plain }
        """.formatted(cluster);
  }

  private static String config(String routes, String clusters, boolean hcmConnect) {
    String yaml = ProxyHarness.bootstrap(routes, clusters);
    return hcmConnect ? ProxyHarness.withHcm(yaml, "upgrade_configs: [ { upgrade_type: CONNECT } ]") : yaml;
  }

  private static String clusters(int target, int plain) {
    return ProxyHarness.cluster("target", "ROUND_ROBIN", target) + ProxyHarness.cluster("plain", "ROUND_ROBIN", plain);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void curlProxytunnelReachesAnHttpBackendThroughTheTunnel(PipelineMode mode) throws Exception {
    backend = new TestUpstream("behind-tunnel");
    echo = new TcpEcho();
    proxy = new ProxyHarness(config(connectRoutes("target"), clusters(backend.port(), echo.port()), true), mode);
    // curl -p sends CONNECT 127.0.0.1:PORT, then its GET through the tunnel; the route's cluster is the backend.
    Process p = new ProcessBuilder("curl", "-s", "-i", "-p", "-m", "10", "-x", "http://127.0.0.1:" + proxy.port(),
        "http://127.0.0.1:" + backend.port() + "/through?x=1").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(out).startsWith("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200").contains("x-upstream: behind-tunnel")
        .contains("GET /through?x=1");
    // The GET went through as bytes: the backend saw it as sent by curl, with no proxy headers added.
    assertThat(backend.requestLines).containsExactly("GET /through?x=1 HTTP/1.1");
    assertThat(backend.lastHeaders).doesNotContainKey("x-request-id").doesNotContainKey("x-forwarded-proto");
    assertThat(proxy.stat("cluster.target.upstream_rq_2xx")).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void relaysBinaryBytesBothWaysAndPassesTheHalfClose(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    backend = new TestUpstream("plain");
    java.nio.file.Path log = java.nio.file.Files.createTempFile("connect-bytes", ".log");
    proxy = new ProxyHarness(ProxyHarness.withHcm(config(connectRoutes("target"), clusters(echo.port(), backend.port()), true),
        ProxyHarness.fileAccessLog(log, "%REQ(:METHOD)% %RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% [%RESPONSE_FLAGS%]\\n")),
        mode);
    try (Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(io.keelson.dataplane.testing.RawHttp.readHead(in)).isEqualTo("HTTP/1.1 200 OK\r\n\r\n");
      byte[] payload = new byte[300_000];
      for (int i = 0; i < payload.length; i++) {
        payload[i] = (byte) (i * 31 + (i >> 8)); // every byte value, CR LF and NUL included
      }
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          out.write(payload);
          out.flush();
          s.shutdownOutput(); // FIN: the proxy half-closes toward the echo, which then sends its own FIN
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      byte[] back = in.readAllBytes(); // until the echo's FIN, passed back by the proxy
      writer.join(10_000);
      assertThat(back).isEqualTo(payload);
    }
    assertThat(echo.finsSeen.get()).isEqualTo(1);
    assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
    // As Envoy logs an upgraded stream: one entry when the tunnel ends, with the tunnel's bytes both ways.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(java.nio.file.Files.readString(log)).isEqualTo("CONNECT 200 300000 300000 [-]\n"));
  }

  /**
   * A TLS target that answers only at the end of what it is sent: the client's FIN must reach it as close_notify then
   * FIN, and its answer must still come back. The old code closed both sides on the client's FIN under TLS.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aClientHalfCloseReachesATlsTargetAsCloseNotifyAndItsAnswerStillComesBack(PipelineMode mode) throws Exception {
    try (io.keelson.dataplane.testing.TlsCountingTarget target = new io.keelson.dataplane.testing.TlsCountingTarget()) {
      backend = new TestUpstream("plain");
      proxy = new ProxyHarness(config(connectRoutes("target"), target.cluster("target")
          + ProxyHarness.cluster("plain", "ROUND_ROBIN", backend.port()), true), mode);
      try (Socket s = new Socket("127.0.0.1", proxy.port())) {
        s.setSoTimeout(15_000);
        OutputStream out = s.getOutputStream();
        out.write("CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream())).isEqualTo("HTTP/1.1 200 OK\r\n\r\n");
        out.write(new byte[50_000]);
        out.flush();
        s.shutdownOutput(); // the client is done sending; it still reads
        assertThat(target.read.get(15, TimeUnit.SECONDS)).isEqualTo(50_000);
        assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("got 50000");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void refusesConnectWith403WhenTheConnectionManagerDoesNotAllowIt(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    proxy = new ProxyHarness(config(connectRoutes("target"), clusters(echo.port(), echo.port()), false), mode);
    assertThat(connectStatus("127.0.0.1:" + echo.port())).startsWith("HTTP/1.1 403");
    assertThat(echo.connections.get()).isZero();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void answers404WhenNoConnectRouteMatchesAndPrefixRoutesNeverMatchConnect(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    String onlyPrefix = ProxyHarness.allTo("plain");
    proxy = new ProxyHarness(config(onlyPrefix, clusters(echo.port(), echo.port()), true), mode);
    assertThat(connectStatus("127.0.0.1:" + echo.port())).startsWith("HTTP/1.1 404");
    assertThat(echo.connections.get()).isZero();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void answers503WhenTheTargetRefusesTheConnection(PipelineMode mode) throws Exception {
    int closed = TestUpstream.closedPort();
    java.nio.file.Path log = java.nio.file.Files.createTempFile("connect-access", ".log");
    proxy = new ProxyHarness(ProxyHarness.withHcm(config(connectRoutes("target"), clusters(closed, closed), true),
        ProxyHarness.fileAccessLog(log, "%REQ(:METHOD)% %REQ(:AUTHORITY)% %RESPONSE_CODE% %RESPONSE_FLAGS%\\n")), mode);
    assertThat(connectStatus("example.test:443")).startsWith("HTTP/1.1 503");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(java.nio.file.Files.readString(log)).contains("CONNECT example.test:443 503 UF"));
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void rbacSeesTheConnectTargetAsTheAuthority(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    String rbac = """
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        action: DENY
                        policies:
                          no-db:
                            permissions: [ { header: { name: ":authority", string_match: { exact: "db.internal:5432" } } } ]
                            principals: [ { any: true } ]
        """;
    proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(connectRoutes("target"),
        clusters(echo.port(), echo.port()), rbac), "upgrade_configs: [ { upgrade_type: CONNECT } ]"), mode);
    assertThat(connectStatus("db.internal:5432")).startsWith("HTTP/1.1 403");
    assertThat(echo.connections.get()).isZero();
    assertThat(connectStatus("web.internal:443")).isEqualTo("HTTP/1.1 200 OK\r\n\r\n");
  }

  @org.junit.jupiter.api.Test
  void streamIdleTimeoutClosesAnIdleTunnel() throws Exception {
    echo = new TcpEcho();
    proxy = new ProxyHarness(ProxyHarness.withHcm(config(connectRoutes("target"), clusters(echo.port(), echo.port()), true),
        "stream_idle_timeout: 1s"), PipelineMode.INLINE);
    try (Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("CONNECT a.test:1 HTTP/1.1\r\nHost: a.test:1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream())).isEqualTo("HTTP/1.1 200 OK\r\n\r\n");
      long start = System.nanoTime();
      assertThat(s.getInputStream().read()).isEqualTo(-1); // closed by the proxy, no byte either way
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(500L, 5_000L);
    }
    assertThat(proxy.stat("http.ingress_http.downstream_rq_idle_timeout")).isEqualTo(1);
  }

  private String connectStatus(String target) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      return io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream());
    }
  }
}
