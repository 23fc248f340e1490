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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Envoy's CONNECT proxying on HTTP/1.1: a connect_matcher route without connect_config forwards the CONNECT request
 * to its HTTP/1.1 cluster (here a second Keelson that terminates it), relays the 2xx and then the raw bytes; a non-2xx
 * answer is relayed as a response. Real sockets and curl, both wirings.
 */
public class ConnectProxyingTest {
  private ProxyHarness forwarder;
  private ProxyHarness terminator;
  private TcpEcho echo;
  private TestUpstream backend;

  @AfterEach
  void close() {
    for (AutoCloseable c : new AutoCloseable[] {forwarder, terminator, echo, backend}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  private static final String HCM_CONNECT = "upgrade_configs: [ { upgrade_type: CONNECT } ]";

  /** The forwarding proxy: CONNECT to cluster "next" (another proxy), proxied, not terminated. */
  private static String forwarding(int next, Path log) {
    return forwarding(next, "", log);
  }

  /**
   * The forwarding proxy: every CONNECT proxied to cluster "next" with an x-forwarder response header, logged to
   * {@code log} with its bytes (Http2ConnectProxyingTest uses it too).
   *
   * @param clusterExtra more fields of cluster "next", e.g. http2_protocol_options
   */
  public static String forwarding(int next, String clusterExtra, Path log) {
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { connect_matcher: {} }
                        route: { cluster: next }
                        response_headers_to_add: [ { header: { key: x-forwarder, value: saw-it } } ]
        """;
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(routes, ProxyHarness.cluster("next", "ROUND_ROBIN", next)
        + clusterExtra), HCM_CONNECT, ProxyHarness.fileAccessLog(log, "%REQ(:METHOD)% %REQ(:AUTHORITY)% %RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT%\\n"));
  }

  /** The terminating proxy: CONNECT to {@code authority} only (else 404) terminated toward cluster "target". */
  private static String terminating(String authority, int target) {
    String routes = """
                    - name: allowed
                      domains: ["%s"]
                      routes:
                      - match: { connect_matcher: {} }
                        route: { cluster: target, upgrade_configs: [ { upgrade_type: CONNECT, connect_config: {} } ] }
        """.formatted(authority);
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(routes, ProxyHarness.cluster("target", "ROUND_ROBIN", target)),
        HCM_CONNECT);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void curlThroughAForwardingProxyAndATerminatingOneReachesTheBackend(PipelineMode mode) throws Exception {
    curlReachesTheBackendThroughTwoProxies(mode, "");
  }

  /** The same over an HTTP/2 (h2c) cluster: the CONNECT goes as an RFC 9113 §8.5 CONNECT stream (old code: config error). */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void curlThroughAForwardingProxyWithAnHttp2ClusterReachesTheBackend(PipelineMode mode) throws Exception {
    curlReachesTheBackendThroughTwoProxies(mode, "    http2_protocol_options: {}\n");
  }

  /** curl -p -x → forwarder (cluster "next" with {@code clusterExtra}) → terminator → an HTTP backend. */
  private void curlReachesTheBackendThroughTwoProxies(PipelineMode mode, String clusterExtra) throws Exception {
    backend = new TestUpstream("behind-two-proxies");
    String authority = "127.0.0.1:" + backend.port();
    terminator = new ProxyHarness(terminating(authority, backend.port()), mode);
    Path log = Files.createTempFile("connect-proxying", ".log");
    forwarder = new ProxyHarness(forwarding(terminator.port(), clusterExtra, log), mode);
    Process p = new ProcessBuilder("curl", "-s", "-i", "-p", "-m", "10", "-x", "http://127.0.0.1:" + forwarder.port(),
        "http://" + authority + "/through?x=1").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    // The terminator's 200 came back through the forwarder, then curl's GET went through both tunnels as bytes.
    assertThat(out).startsWith("HTTP/1.1 200 OK\r\n").contains("\r\n\r\nHTTP/1.1 200")
        .contains("x-upstream: behind-two-proxies");
    assertThat(backend.requestLines).containsExactly("GET /through?x=1 HTTP/1.1");
    assertThat(forwarder.stat("cluster.next.upstream_rq_2xx")).isEqualTo(1);
    assertThat(forwarder.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
    assertThat(terminator.stat("cluster.target.upstream_rq_2xx")).isEqualTo(1);
    Awaitility.await().atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(Files.readString(log)).contains("CONNECT " + authority + " 200"));
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void relaysBinaryBytesAndTheHalfCloseThroughTwoProxies(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    terminator = new ProxyHarness(terminating("echo.test:7", echo.port()), mode);
    forwarder = new ProxyHarness(forwarding(terminator.port(), Files.createTempFile("connect-proxying", ".log")), mode);
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      byte[] payload = new byte[200_000];
      for (int i = 0; i < payload.length; i++) {
        payload[i] = (byte) (i * 37 + (i >> 8)); // every byte value, CR LF and NUL included
      }
      // The first bytes ride behind the CONNECT head, before any 200: they must reach the echo after it.
      out.write("CONNECT echo.test:7 HTTP/1.1\r\nHost: echo.test:7\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(payload, 0, 1000);
      out.flush();
      assertThat(io.keelson.dataplane.testing.RawHttp.readHead(in)).startsWith("HTTP/1.1 200");
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          out.write(payload, 1000, payload.length - 1000);
          out.flush();
          s.shutdownOutput();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      byte[] back = in.readAllBytes(); // until the echo's FIN, passed back by both proxies
      writer.join(10_000);
      assertThat(back).isEqualTo(payload);
    }
    assertThat(echo.finsSeen.get()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aNon2xxAnswerIsRelayedAsAResponseAndOpensNoTunnel(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    terminator = new ProxyHarness(terminating("allowed.test:443", echo.port()), mode);
    forwarder = new ProxyHarness(forwarding(terminator.port(), Files.createTempFile("connect-proxying", ".log")), mode);
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      String head = io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream());
      assertThat(head).startsWith("HTTP/1.1 404"); // the terminator has no route for that authority
      assertThat(head.toLowerCase(java.util.Locale.ROOT)).contains("connection: close");
    }
    assertThat(echo.connections.get()).isZero();
    assertThat(forwarder.stat("cluster.next.upstream_rq_4xx")).isEqualTo(1);
    assertThat(forwarder.stat("http.ingress_http.downstream_cx_upgrades_total")).isZero();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRouteThatDisablesConnectAnswers403(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { connect_matcher: {} }
                        route: { cluster: next, upgrade_configs: [ { upgrade_type: CONNECT, enabled: false } ] }
        """;
    forwarder = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(routes,
        ProxyHarness.cluster("next", "ROUND_ROBIN", echo.port())), HCM_CONNECT), mode);
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("CONNECT a.test:1 HTTP/1.1\r\nHost: a.test:1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream())).startsWith("HTTP/1.1 403");
    }
    assertThat(echo.connections.get()).isZero();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aProxiedConnectIsNotRetriedEvenUnderARetryPolicy(PipelineMode mode) throws Exception {
    java.util.concurrent.atomic.AtomicInteger connects = new java.util.concurrent.atomic.AtomicInteger();
    try (java.net.ServerSocket busy = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread.ofVirtual().start(() -> { // a CONNECT proxy that answers every CONNECT 503
        while (!busy.isClosed()) {
          try (Socket c = busy.accept()) {
            io.keelson.dataplane.testing.RawHttp.readHead(c.getInputStream());
            connects.incrementAndGet();
            c.getOutputStream().write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"
                .getBytes(StandardCharsets.US_ASCII));
            c.getOutputStream().flush();
          } catch (Exception e) {
            // closed at the end of the test
          }
        }
      });
      forwarder = new ProxyHarness(forwarding(busy.getLocalPort(), Files.createTempFile("connect-proxying", ".log"))
          .replace("route: { cluster: next }",
              "route: { cluster: next, retry_policy: { retry_on: 5xx, num_retries: 2 } }"), mode);
      try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        assertThat(io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream())).startsWith("HTTP/1.1 503");
      }
      assertThat(connects.get()).as("one CONNECT upstream, no retry").isEqualTo(1);
      assertThat(forwarder.stat("cluster.next.upstream_rq_retry")).isZero();
    }
  }
}
