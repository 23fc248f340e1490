package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.testing.TcpExchange.CLOSED;
import static io.keelson.dataplane.tcp.TcpProxyTest.tcpListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * envoy.filters.network.local_ratelimit and envoy.filters.network.connection_limit in front of tcp_proxy, over real
 * sockets: a refused connection is closed before any upstream connection, and counted.
 */
class TcpConnectionGatesTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  private static String localRateLimit(String statPrefix, int maxTokens, String shareKey) {
    return """
              - name: envoy.filters.network.local_ratelimit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit
                  stat_prefix: %s
                  token_bucket: { max_tokens: %d, tokens_per_fill: 1, fill_interval: 3600s }
                  share_key: "%s"
        """.formatted(statPrefix, maxTokens, shareKey);
  }

  private static String connectionLimit(int max, String delay) {
    return """
              - name: envoy.filters.network.connection_limit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
                  stat_prefix: cl
                  max_connections: %d
        """.formatted(max) + (delay == null ? "" : "          delay: " + delay + "\n");
  }

  /** The tcp listener to cluster {@code a} with {@code filters} before its tcp_proxy. */
  private static String withFilters(String filters, int upstreamPort) {
    return tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", upstreamPort))
        .replace("      - name: envoy.filters.network.tcp_proxy\n", filters + "      - name: envoy.filters.network.tcp_proxy\n");
  }

  /** A connection that sent "hi" and read the upstream's echo: it is relayed and stays open. */
  private static Socket relayed(int port) throws Exception {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(20_000);
    s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
    byte[] echo = s.getInputStream().readNBytes("a:hi".length());
    assertThat(new String(echo, StandardCharsets.US_ASCII)).isEqualTo("a:hi");
    return s;
  }

  /** Reads until the proxy closes {@code s}: true when it did (EOF or reset) without sending anything. */
  private static boolean closedUnanswered(Socket s) throws Exception {
    s.setSoTimeout(20_000);
    try (s) {
      s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      return in.read() == -1;
    } catch (java.net.SocketException reset) {
      return true;
    }
  }

  @Test
  void localRateLimitClosesConnectionsBeyondTheBucketAndCountsThem() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    ProxyServer p = proxies.start(withFilters(localRateLimit("lr", 2, ""), a.port()), 2);
    int port = p.listenerAddress("tcp").getPort();
    assertThat(TcpExchange.plain(port, "one")).isEqualTo("a:one|bye");
    assertThat(TcpExchange.plain(port, "two")).isEqualTo("a:two|bye");
    assertThat(TcpExchange.plain(port, "three")).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/stats")).contains("local_ratelimit.lr.rate_limited: 1"));
    assertThat(a.connections.get()).isEqualTo(2);
  }

  @Test
  void aShareKeySharesOneBucketBetweenListeners() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    String one = withFilters(localRateLimit("lr", 1, "shared"), a.port());
    // A second listener, same filter and key: its connections take tokens from the same bucket.
    String listener = one.substring(one.indexOf("  - name: tcp"), one.indexOf("  clusters:"));
    String yaml = one.replace("  clusters:", listener.replace("- name: tcp", "- name: tcp2") + "  clusters:");
    ProxyServer p = proxies.start(yaml, 2);
    assertThat(TcpExchange.plain(p.listenerAddress("tcp").getPort(), "one")).isEqualTo("a:one|bye");
    assertThat(TcpExchange.plain(p.listenerAddress("tcp2").getPort(), "two")).isIn("", CLOSED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/stats")).contains("local_ratelimit.lr.rate_limited: 1"));
    assertThat(a.connections.get()).isEqualTo(1);
  }

  @Test
  void connectionLimitClosesTheConnectionOverTheLimitUntilOneCloses() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    ProxyServer p = proxies.start(withFilters(connectionLimit(2, null), a.port()), 2);
    int port = p.listenerAddress("tcp").getPort();
    Socket first = relayed(port);
    try (Socket second = relayed(port)) {
      assertThat(closedUnanswered(new Socket("127.0.0.1", port))).isTrue();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats"))
          .contains("connection_limit.cl.limited_connections: 1").contains("connection_limit.cl.active_connections: 2"));
      assertThat(a.connections.get()).isEqualTo(2);
      first.close();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(RunningProxies.admin(p, "/stats")).contains("connection_limit.cl.active_connections: 1"));
      relayed(port).close();
    }
    assertThat(a.connections.get()).isEqualTo(3);
  }

  @Test
  void connectionLimitWithADelayClosesTheConnectionOverTheLimitAfterIt() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    ProxyServer p = proxies.start(withFilters(connectionLimit(1, "1s"), a.port()), 2);
    int port = p.listenerAddress("tcp").getPort();
    try (Socket held = relayed(port)) {
      long start = System.nanoTime();
      assertThat(closedUnanswered(new Socket("127.0.0.1", port))).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
      assertThat(RunningProxies.admin(p, "/stats")).contains("connection_limit.cl.limited_connections: 1");
      assertThat(a.connections.get()).isEqualTo(1);
    }
  }

  @Test
  void bothFiltersInOneChainEachDecide() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    ProxyServer p = proxies.start(withFilters(connectionLimit(5, null) + localRateLimit("lr", 1, ""), a.port()), 2);
    int port = p.listenerAddress("tcp").getPort();
    assertThat(TcpExchange.plain(port, "one")).isEqualTo("a:one|bye");
    assertThat(TcpExchange.plain(port, "two")).isIn("", CLOSED);
    // The rate-limited connection had a place under the connection limit; its close gave it back.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats"))
        .contains("local_ratelimit.lr.rate_limited: 1").contains("connection_limit.cl.active_connections: 0"));
  }
}
