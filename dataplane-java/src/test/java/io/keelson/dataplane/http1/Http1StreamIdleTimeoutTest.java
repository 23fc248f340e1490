package io.keelson.dataplane.http1;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The HTTP connection manager's stream_idle_timeout on HTTP/1.1 exchanges (no progress either way → 408 or reset). */
class Http1StreamIdleTimeoutTest {
  private static final String ROUTES = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: a, timeout: 0s }
      """;

  private static ProxyHarness proxy(int upstreamPort, String streamIdle) throws Exception {
    String config = bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", upstreamPort))
        .replace("stat_prefix: ingress_http", "stat_prefix: ingress_http\n          stream_idle_timeout: " + streamIdle);
    return new ProxyHarness(config, PipelineMode.INLINE);
  }

  /** Reads one request head off a raw upstream socket. */
  private static void readHead(InputStream in) throws Exception {
    int matched = 0;
    byte[] end = "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    while (matched < end.length) {
      int c = in.read();
      if (c == -1) {
        throw new IllegalStateException("closed before a request head");
      }
      matched = c == end[matched] ? matched + 1 : (c == end[0] ? 1 : 0);
    }
  }

  @Test
  void answers408WhenTheUpstreamNeverAnswersAndClosesBothConnections() throws Exception {
    try (ServerSocket upstream = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Boolean> upstreamClosed = CompletableFuture.supplyAsync(() -> {
        try (Socket s = upstream.accept()) {
          s.setSoTimeout(10_000);
          readHead(s.getInputStream());
          return s.getInputStream().read() == -1; // never answers; the proxy must close
        } catch (Exception e) {
          return e instanceof java.net.SocketException; // a reset also ends it
        }
      });
      ProxyHarness proxy = proxy(upstream.getLocalPort(), "0.3s");
      try (RawHttp c = new RawHttp(proxy.port())) {
        c.socket().setSoTimeout(5000);
        long start = System.nanoTime();
        RawHttp.Response r = c.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n").read();
        assertThat(r.status()).isEqualTo(408);
        assertThat(r.body()).isEqualTo("stream timeout");
        assertThat(r.header("connection")).isEqualTo("close");
        assertThat((System.nanoTime() - start) / 1_000_000).as("ms until the 408").isGreaterThanOrEqualTo(250);
        assertThat(c.closedByPeer(5000)).as("downstream closed").isTrue();
        assertThat(upstreamClosed.get(5, TimeUnit.SECONDS)).as("upstream connection closed").isTrue();
        assertThat(proxy.admin("/stats")).contains("http.ingress_http.downstream_rq_idle_timeout: 1");
      } finally {
        proxy.close();
      }
    }
  }

  @Test
  void keepsAResponseThatTricklesFasterThanTheTimeout() throws Exception {
    try (ServerSocket upstream = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
      int chunks = 15;
      CompletableFuture.runAsync(() -> {
        try (Socket s = upstream.accept()) {
          // Bounded: this task runs on the common pool (one worker on 2 cores). Its final read once blocked it for
          // good when the proxy's close left this upstream connection open, and later tests' async tasks hung.
          s.setSoTimeout(10_000);
          readHead(s.getInputStream());
          OutputStream out = s.getOutputStream();
          out.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          for (int i = 0; i < chunks; i++) {
            Thread.sleep(100); // 1.5 s in all, each gap well under the 0.6 s timeout
            out.write("1\r\nx\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
          }
          out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          s.getInputStream().read(); // hold the connection until the proxy is done with it
        } catch (Exception e) {
          // the test's assertions report what went wrong
        }
      });
      ProxyHarness proxy = proxy(upstream.getLocalPort(), "0.6s");
      try (RawHttp c = new RawHttp(proxy.port())) {
        c.socket().setSoTimeout(10_000);
        RawHttp.Response r = c.send("GET /trickle HTTP/1.1\r\nHost: x\r\n\r\n").read();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("x".repeat(chunks));
        assertThat(proxy.admin("/stats")).contains("http.ingress_http.downstream_rq_idle_timeout: 0");
      } finally {
        proxy.close();
      }
    }
  }

  @Test
  void answers408WhenTheClientStopsSendingItsBody() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      ProxyHarness proxy = proxy(a.port(), "0.3s");
      try (RawHttp c = new RawHttp(proxy.port())) {
        c.socket().setSoTimeout(5000);
        RawHttp.Response r = c.send("POST /upload HTTP/1.1\r\nHost: x\r\ncontent-length: 10\r\n\r\nabc").read();
        assertThat(r.status()).isEqualTo(408);
        assertThat(r.body()).isEqualTo("stream timeout");
        assertThat(c.closedByPeer(5000)).as("downstream closed").isTrue();
        assertThat(proxy.admin("/stats")).contains("http.ingress_http.downstream_rq_idle_timeout: 1");
      } finally {
        proxy.close();
      }
    }
  }
}
