package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The established connections of a tcp_proxy listener an update removes keep relaying until the drain time has
 * passed and are closed then, as in Envoy (tcp_proxy has no in-band drain; what is left when {@code --drain-time-s}
 * ends is closed). Before the fix such a connection was closed at once, active or not. Same for a listener an
 * update replaces (a new socket) or changes in place (the same socket, taken over by the listener's new version): its
 * old connections keep relaying to the old cluster until the drain time.
 */
class TcpRetiredListenerDrainTest {
  /** {@link RunningProxies}' drain time. */
  static final long DRAIN_MILLIS = 1_000;
  /** How late after the drain time the close may come on a loaded machine. */
  static final int MARGIN_MILLIS = 5_000;

  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** Sends {@code text} and reads its echo (the same bytes) back (also {@link TcpDrainTest}'s). */
  static void echoes(RawHttp c, String text) throws IOException {
    c.send(text);
    assertThat(new String(c.socket().getInputStream().readNBytes(text.length()), StandardCharsets.US_ASCII))
        .as("echo of " + text).isEqualTo(text);
  }

  /** A proxy with listener "tcp" to echo server "a" (cluster "b", echo server "b", defined too). */
  private ProxyServer start() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    EchoServer b = proxies.keep(new EchoServer("b", null));
    clusters = cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "ROUND_ROBIN", b.port());
    ProxyServer p = proxies.start(TcpProxyTest.tcpListener("          cluster: a\n", clusters), 2);
    assertThat(p.options().drainTime()).isEqualTo(Duration.ofMillis(DRAIN_MILLIS));
    return p;
  }

  private String clusters;

  /**
   * Connects to listener "tcp", has one exchange, applies {@code update}, and asserts that the connection still
   * relays after it, is still open at half the drain time, and is closed by the proxy at the drain time (within
   * the margin), not before; and that its upstream connection is closed with it.
   */
  private void assertRelaysUntilTheDrainTime(ProxyServer p, ProxySnapshot update) throws Exception {
    try (RawHttp s = new RawHttp(p.listenerAddress("tcp").getPort())) {
      s.send("x");
      assertThat(new String(s.socket().getInputStream().readNBytes(3), StandardCharsets.US_ASCII)).isEqualTo("a:x");

      long retired = System.nanoTime();
      p.update(update);

      echoes(s, "after-the-update");
      long half = retired + Duration.ofMillis(DRAIN_MILLIS / 2).toNanos();
      assertThat(s.closedByPeer((int) Math.max(1, Duration.ofNanos(half - System.nanoTime()).toMillis())))
          .as("still open at half the drain time").isFalse();
      echoes(s, "at-half-the-drain-time");

      assertThat(s.closedByPeer((int) DRAIN_MILLIS + MARGIN_MILLIS)).as("closed at the drain time").isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - retired).toMillis()).as("ms from the update to the close")
          .isGreaterThanOrEqualTo(DRAIN_MILLIS - 20);
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/stats")).as("the upstream connection closed with it")
            .contains("cluster.a.upstream_cx_active: 0"));
  }

  @Test
  void anActiveConnectionOfARemovedTcpListenerRelaysUntilTheDrainTime() throws Exception {
    ProxyServer p = start();
    ProxySnapshot config = p.snapshot().config();
    assertRelaysUntilTheDrainTime(p,
        new ProxySnapshot("2", List.of(), config.clusters(), config.configDump(), config.warnings()));
    assertThat(p.boundListeners()).as("the listener is gone").doesNotContainKey("tcp");
  }

  /** Replaced: same name and port, a new host (so a new socket) and cluster; new connections reach "b". */
  @Test
  void anActiveConnectionOfAReplacedTcpListenerRelaysUntilTheDrainTime() throws Exception {
    ProxyServer p = start();
    ProxySnapshot config = p.snapshot().config();
    int port = p.listenerAddress("tcp").getPort();
    ListenerConfig toB = BootstrapLoader.fromYaml(TcpProxyTest.tcpListener("          cluster: b\n", clusters), "b.yaml")
        .listeners().getFirst();
    ListenerConfig replaced = new ListenerConfig("tcp", "0.0.0.0", port, null, toB.tcpProxy(), null, List.of(), false,
        List.of());
    assertRelaysUntilTheDrainTime(p,
        new ProxySnapshot("2", List.of(replaced), config.clusters(), config.configDump(), config.warnings()));
    assertThat(TcpExchange.plain(port, "new")).as("a new connection reaches the new listener").isEqualTo("b:new|bye");
  }

  /**
   * Updated in place: same name and address, another cluster. The listener's new version takes over its socket;
   * the old version's connection keeps relaying to "a" until the drain time, new connections reach "b".
   */
  @Test
  void anActiveConnectionOfATcpListenerUpdatedInPlaceRelaysUntilTheDrainTime() throws Exception {
    ProxyServer p = start();
    ProxySnapshot config = p.snapshot().config();
    int port = p.listenerAddress("tcp").getPort();
    ListenerConfig toB = BootstrapLoader.fromYaml(TcpProxyTest.tcpListener("          cluster: b\n", clusters), "b.yaml")
        .listeners().getFirst();
    assertRelaysUntilTheDrainTime(p,
        new ProxySnapshot("2", List.of(toB), config.clusters(), config.configDump(), config.warnings()));
    assertThat(p.listenerAddress("tcp").getPort()).as("the same socket").isEqualTo(port);
    assertThat(TcpExchange.plain(port, "new")).as("a new connection reaches the new version").isEqualTo("b:new|bye");
  }
}
