package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.RunningProxies;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * tcp_proxy connections on a graceful drain of the whole process, as in Envoy (tcp_proxy has no in-band drain):
 * on shutdown ({@link ProxyServer#close}) and on /drain_listeners an active connection keeps relaying until it ends
 * or the drain time has passed, and is closed then. Before the fix shutdown cut it at once (it was not among the
 * connections shutdown waits for, so the event loops' shutdown closed it), and /drain_listeners never closed it.
 */
class TcpDrainTest {
  /** The drain time of the shutdown tests. */
  static final long SHUTDOWN_DRAIN_MILLIS = 2_000;
  /** {@link RunningProxies}' drain time, the /drain_listeners test's. */
  static final long DRAIN_MILLIS = TcpRetiredListenerDrainTest.DRAIN_MILLIS;
  /** How late after the drain time the close may come on a loaded machine. */
  static final int MARGIN_MILLIS = TcpRetiredListenerDrainTest.MARGIN_MILLIS;
  /** ProxyServer's bound on closing what is left after the drain time, and on stopping its event loops. */
  static final long CLOSE_WAIT_MILLIS = 5_000;

  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A proxy with listener "tcp" to echo server "a", with drain time {@code drainMillis}. */
  private ProxyServer start(long drainMillis) throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    String yaml = TcpProxyTest.tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", a.port()));
    return proxies.keep(RunningProxies.startDetached(yaml, 2, Duration.ofMillis(drainMillis)));
  }

  /** A connection to listener "tcp" that has had one exchange (so it relays). */
  private static RawHttp relaying(ProxyServer p) throws IOException {
    RawHttp s = new RawHttp(p.listenerAddress("tcp").getPort());
    s.send("x");
    assertThat(new String(s.socket().getInputStream().readNBytes(3), StandardCharsets.US_ASCII)).isEqualTo("a:x");
    return s;
  }

  private static boolean refused(int port) {
    try {
      new Socket("127.0.0.1", port).close();
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /**
   * Asserts that {@code s} still relays after the drain began ({@code began}), is still open at half the drain time,
   * and is closed by the proxy at the drain time (within the margin), not before.
   */
  private static void assertRelaysUntilTheDrainTime(RawHttp s, long began, long drainMillis) throws IOException {
    TcpRetiredListenerDrainTest.echoes(s, "after-the-drain-began");
    long half = began + Duration.ofMillis(drainMillis / 2).toNanos();
    assertThat(s.closedByPeer((int) Math.max(1, Duration.ofNanos(half - System.nanoTime()).toMillis())))
        .as("still open at half the drain time").isFalse();
    TcpRetiredListenerDrainTest.echoes(s, "at-half-the-drain-time");
    assertThat(s.closedByPeer((int) drainMillis + MARGIN_MILLIS)).as("closed at the drain time").isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - began).toMillis()).as("ms from the drain's start to the close")
        .isGreaterThanOrEqualTo(drainMillis - 20);
  }

  @Test
  void onShutdownAnActiveConnectionRelaysUntilTheDrainTime() throws Exception {
    ProxyServer p = start(SHUTDOWN_DRAIN_MILLIS);
    int port = p.listenerAddress("tcp").getPort();
    try (RawHttp s = relaying(p)) {
      long began = System.nanoTime();
      CompletableFuture<Void> closing = CompletableFuture.runAsync(p::close);
      await().atMost(Duration.ofSeconds(5)).until(() -> !p.ready()); // close() began: draining
      await().atMost(Duration.ofSeconds(5)).until(() -> refused(port)); // and no longer accepting

      assertRelaysUntilTheDrainTime(s, began, SHUTDOWN_DRAIN_MILLIS);
      closing.get(SHUTDOWN_DRAIN_MILLIS + CLOSE_WAIT_MILLIS + MARGIN_MILLIS, TimeUnit.MILLISECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - began).toMillis()).as("ms the shutdown took")
          .isLessThan(SHUTDOWN_DRAIN_MILLIS + CLOSE_WAIT_MILLIS + MARGIN_MILLIS);
    }
  }

  /** A connection that ends by itself during the drain ends the shutdown's wait: close() does not wait the drain time. */
  @Test
  void onShutdownAConnectionThatEndsLetsTheShutdownFinishBeforeTheDrainTime() throws Exception {
    ProxyServer p = start(10_000);
    try (RawHttp s = relaying(p)) {
      long began = System.nanoTime();
      CompletableFuture<Void> closing = CompletableFuture.runAsync(p::close);
      await().atMost(Duration.ofSeconds(5)).until(() -> !p.ready());
      TcpRetiredListenerDrainTest.echoes(s, "after-the-drain-began");
      assertThat(closing).as("waits for the relaying connection").isNotDone();

      s.socket().shutdownOutput(); // the client's FIN: the echo server answers "|bye" and closes
      assertThat(new String(s.socket().getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("|bye");
      closing.get(5, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - began).toMillis()).as("ms the shutdown took")
          .isLessThan(10_000);
    }
  }

  @Test
  void onDrainListenersAnActiveConnectionRelaysUntilTheDrainTimeAndIsClosedThen() throws Exception {
    ProxyServer p = start(DRAIN_MILLIS);
    int port = p.listenerAddress("tcp").getPort();
    try (RawHttp s = relaying(p)) {
      long began = System.nanoTime();
      HttpResponse<String> drained = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort() + "/drain_listeners"))
              .POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(drained.statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(5)).until(() -> refused(port));

      assertRelaysUntilTheDrainTime(s, began, DRAIN_MILLIS);
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/stats")).as("the upstream connection closed with it")
            .contains("cluster.a.upstream_cx_active: 0"));
    await().atMost(Duration.ofSeconds(5)).until(() -> p.activeConnections() == 0);
    assertThat(RunningProxies.admin(p, "/ready")).as("the process keeps running, draining").isEqualTo("DRAINING\n");
  }
}
