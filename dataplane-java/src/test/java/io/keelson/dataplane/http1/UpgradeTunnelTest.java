package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.transport.Transport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Upgrade tunnels over real sockets on every transport: half-close passed through (Envoy propagates a FIN
 * through an upgraded stream), stream_idle_timeout ending an idle tunnel, and the downstream_cx_upgrades_*
 * stats. The upstream is a blocking-socket server that answers the upgrade with 101, echoes, and on EOF
 * still sends a last message before it closes.
 */
class UpgradeTunnelTest {
  private static final String AFTER_EOF = "bye-after-eof";
  private ServerSocket upstream;
  private Thread acceptor;
  private final CountDownLatch upstreamSawEof = new CountDownLatch(1);
  private ProxyHarness proxy;

  @BeforeEach
  void echoUpstream() throws IOException {
    upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = Thread.ofVirtual().start(() -> {
      while (!upstream.isClosed()) {
        try {
          Socket s = upstream.accept();
          Thread.ofVirtual().start(() -> serve(s));
        } catch (IOException e) {
          return;
        }
      }
    });
  }

  private void serve(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      readHead(in);
      out.write(("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      byte[] buf = new byte[4096];
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
      upstreamSawEof.countDown();
      Thread.sleep(200); // a while after the client's FIN, the upstream still talks
      out.write(AFTER_EOF.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    } catch (IOException | InterruptedException e) {
      // the proxy closed the tunnel
    }
  }

  @AfterEach
  void close() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    upstream.close();
    acceptor.join(5000);
  }

  private void start(Transport transport, String hcmExtra) throws Exception {
    assumeTrue(transport.unavailabilityCause() == null, "transport not available here");
    String yaml = ProxyHarness.bootstrap("""
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: ws }
      """, ProxyHarness.cluster("ws", "ROUND_ROBIN", upstream.getLocalPort()))
        .replace("          stat_prefix: ingress_http\n", "          stat_prefix: ingress_http\n"
            + "          upgrade_configs: [ { upgrade_type: websocket } ]\n" + hcmExtra);
    proxy = new ProxyHarness(yaml, PipelineMode.INLINE, transport);
  }

  /** Opens a tunnel through the proxy: the upgrade request, then the 101. */
  private Socket openTunnel() throws IOException {
    Socket c = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    c.setSoTimeout(10_000);
    c.getOutputStream().write(("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
    String head = readHead(c.getInputStream());
    assertThat(head).startsWith("HTTP/1.1 101");
    return c;
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("EOF in head: " + head);
      }
      head.write(b);
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static String echo(Socket c, String message) throws IOException {
    c.getOutputStream().write(message.getBytes(StandardCharsets.ISO_8859_1));
    return new String(c.getInputStream().readNBytes(message.length()), StandardCharsets.ISO_8859_1);
  }

  /** Everything until EOF (fails on the 10 s read timeout). */
  private static String readToEof(Socket c) throws IOException {
    return new String(c.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void aClientFinIsPassedOnAndTheUpstreamCanStillAnswer(Transport transport) throws Exception {
    start(transport, "");
    try (Socket c = openTunnel()) {
      assertThat(echo(c, "ping")).isEqualTo("ping");
      c.shutdownOutput(); // the client's FIN
      assertThat(upstreamSawEof.await(10, TimeUnit.SECONDS)).as("the upstream saw EOF").isTrue();
      // The upstream's reply after the client's FIN still arrives, then the upstream's FIN ends the tunnel.
      assertThat(readToEof(c)).isEqualTo(AFTER_EOF);
    }
    awaitStat("http.ingress_http.downstream_cx_upgrades_active", 0);
    assertThat(proxy.stat("http.ingress_http.downstream_cx_active")).isZero();
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void anIdleTunnelIsClosedAfterTheStreamIdleTimeoutButAnActiveOneIsNot(Transport transport) throws Exception {
    start(transport, "          stream_idle_timeout: 1s\n");
    try (Socket c = openTunnel()) {
      // Active: a message every 200 ms for 3 s (three timeouts) keeps the tunnel open; either direction
      // resets the timer (the echo moves bytes both ways).
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
      int i = 0;
      while (System.nanoTime() < end) {
        assertThat(echo(c, "m" + (i % 10))).isEqualTo("m" + (i % 10));
        i++;
        Thread.sleep(200);
      }
      // Idle: closed both ways after about 1 s.
      long idleStart = System.nanoTime();
      try {
        assertThat(readToEof(c)).isEmpty();
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the idle tunnel was not closed", e);
      }
      long idleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - idleStart);
      assertThat(idleMillis).isBetween(700L, 8_000L);
      assertThat(upstreamSawEof.await(10, TimeUnit.SECONDS)).as("the upstream side was closed too").isTrue();
    }
    assertThat(proxy.stat("http.ingress_http.downstream_rq_idle_timeout")).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void countsUpgradesTotalAndActive(Transport transport) throws Exception {
    start(transport, "");
    assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isZero();
    try (Socket c = openTunnel()) {
      assertThat(echo(c, "hello")).isEqualTo("hello");
      assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_active")).isEqualTo(1);
      String prom = proxy.admin("/stats/prometheus");
      assertThat(prom).contains("envoy_http_downstream_cx_upgrades_total{envoy_http_conn_manager_prefix=\"ingress_http\"} 1")
          .contains("envoy_http_downstream_cx_upgrades_active{envoy_http_conn_manager_prefix=\"ingress_http\"} 1");
    }
    awaitStat("http.ingress_http.downstream_cx_upgrades_active", 0);
    assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
  }

  private void awaitStat(String name, long value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (proxy.stat(name) != value && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(proxy.stat(name)).isEqualTo(value);
  }
}
