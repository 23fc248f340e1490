package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A response that retry_on covers and that has a body is dropped as Envoy's router drops it (it resets the
 * upstream request unless the response ended with its headers and the request was sent in full): the
 * HTTP/1.1 connection is closed, and the retry goes at once instead of after the body. The upstream here
 * answers 503 with a 100,000-byte content-length, sends 10 bytes and stalls; over real sockets, from an
 * HTTP/1.1 client. On the previous code the proxy read the body to its end first, so the request waited for
 * the route timeout.
 */
class RetriedResponseDropTest {
  private static final String POLICY = """
                        retry_policy:
                          retry_on: 5xx
                          num_retries: 2
                          retry_back_off: { base_interval: 0.005s }
                          retry_host_predicate:
                          - name: envoy.retry_host_predicates.previous_hosts
                          host_selection_retry_max_attempts: 3
      """;

  @Test
  void aRetriedResponseWithAStalledBodyIsDroppedWithItsConnectionAndRetriedAtOnce() throws Exception {
    try (StalledBodyUpstream bad = new StalledBodyUpstream(); TestUpstream good = new TestUpstream("good");
        ProxyHarness proxy = new ProxyHarness(bootstrap(routes(POLICY), cluster("", bad.port(), good.port())),
            PipelineMode.INLINE)) {
      for (int i = 0; i < 4; i++) {
        long start = System.nanoTime();
        var r = proxy.get("/x" + i);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("good");
        assertThat(tookMs).as("retried at once, not after the stalled body or the 10 s route timeout").isLessThan(5000);
      }
      assertThat(bad.answered.get()).as("round robin sent some first tries to the stalling upstream").isPositive();
      await().atMost(Duration.ofSeconds(5)).until(() -> bad.closedByProxy.get() == bad.answered.get());
      assertThat(ResilienceConfigs.stat(proxy.admin("/stats"), "cluster.c.upstream_rq_retry")).isEqualTo(bad.answered.get());
    }
  }

  /**
   * Answers every request 503 with {@code content-length: 100000}, sends 10 body bytes and stalls; counts the
   * connections the peer closed. One thread per connection (tests only).
   */
  private static final class StalledBodyUpstream implements AutoCloseable {
    final AtomicInteger answered = new AtomicInteger();
    final AtomicInteger closedByProxy = new AtomicInteger();
    private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());

    StalledBodyUpstream() throws Exception {
      Thread acceptor = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            Socket s = server.accept();
            Thread t = new Thread(() -> serve(s), "stalled-body-conn");
            t.setDaemon(true);
            t.start();
          } catch (Exception e) {
            return; // closed
          }
        }
      }, "stalled-body-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    private void serve(Socket s) {
      try (s) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
          head.append((char) c);
          if (head.toString().endsWith("\r\n\r\n")) {
            break;
          }
        }
        if (c < 0) {
          return;
        }
        out.write(("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100000\r\n\r\n" + "x".repeat(10))
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        answered.incrementAndGet();
        s.setSoTimeout(30_000);
        try {
          if (in.read() < 0) { // the proxy closed the connection (it sends nothing more on it)
            closedByProxy.incrementAndGet();
          }
        } catch (java.net.SocketTimeoutException e) {
          return; // still open after 30 s: not closed
        } catch (java.io.IOException e) {
          closedByProxy.incrementAndGet(); // closed with a reset
        }
      } catch (Exception e) {
        // the test ended
      }
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      server.close();
    }
  }
}
