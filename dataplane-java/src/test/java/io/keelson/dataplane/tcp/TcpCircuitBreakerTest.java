package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tcp_proxy's cluster {@code circuit_breakers} through a running proxy with real sockets, as Envoy's TCP connection
 * pool applies them: each relayed connection holds one of {@code max_connections} until its upstream closes; a
 * connection that finds none waits as a pending request (bounded by {@code max_pending_requests}) and is connected
 * when a slot frees up; beyond that it is closed with flag {@code UO}.
 */
class TcpCircuitBreakerTest {
  @TempDir Path dir;
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** One connection and one pending request. */
  private static final String ONE_AND_ONE = """
          circuit_breakers:
            thresholds:
            - { max_connections: 1, max_pending_requests: 1 }
      """;

  private ProxyServer start(EchoServer a, Path log) throws Exception {
    return proxies.start(TcpProxyTest.tcpListener("          cluster: a\n"
        + TcpAccessLogTest.fileLog(log, "%RESPONSE_FLAGS% %BYTES_RECEIVED%"),
        cluster("a", "ROUND_ROBIN", a.port()) + ONE_AND_ONE), 2);
  }

  private static Socket open(ProxyServer p, String first) throws IOException {
    Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort());
    s.getOutputStream().write(first.getBytes(StandardCharsets.US_ASCII));
    return s;
  }

  private static String read(Socket s, int n, Duration timeout) throws IOException {
    s.setSoTimeout((int) timeout.toMillis());
    return new String(s.getInputStream().readNBytes(n), StandardCharsets.US_ASCII);
  }

  private static void awaitStat(ProxyServer p, String line) {
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats")).contains(line));
  }

  private static void awaitLogLine(Path log, String line) {
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Files.exists(log) ? Files.readAllLines(log) : java.util.List.of())
        .contains(line));
  }

  @Test
  void aConnectionOverMaxConnectionsWaitsAsPendingAndOneOverMaxPendingIsClosedWithUo() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("cb.log");
    ProxyServer p = start(a, log);
    try (Socket first = open(p, "1")) {
      assertThat(read(first, 3, Duration.ofSeconds(10))).isEqualTo("a:1");
      try (Socket second = open(p, "2")) {
        awaitStat(p, "cluster.a.upstream_cx_overflow: 1");
        assertThatThrownBy(() -> read(second, 1, Duration.ofMillis(500)))
            .as("no upstream connection while the first holds the only slot").isInstanceOf(SocketTimeoutException.class);
        assertThat(a.connections.get()).isEqualTo(1);
        try (Socket third = open(p, "")) {
          third.setSoTimeout(10_000);
          assertThat(third.getInputStream().read()).as("the pending slot is taken: closed").isEqualTo(-1);
        }
        awaitStat(p, "cluster.a.upstream_rq_pending_overflow: 1");
        awaitLogLine(log, "UO 0");
        first.close(); // frees the slot: the waiting connection is connected and its held bytes sent
        assertThat(read(second, 3, Duration.ofSeconds(10))).isEqualTo("a:2");
      }
    }
    assertThat(a.connections.get()).isEqualTo(2);
    awaitStat(p, "cluster.a.circuit_breakers.default.remaining_cx: 1");
  }

  @Test
  void aWaitingClientThatLeavesGivesBackItsPendingSlot() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("left.log");
    ProxyServer p = start(a, log);
    try (Socket first = open(p, "1")) {
      assertThat(read(first, 3, Duration.ofSeconds(10))).isEqualTo("a:1");
      try (Socket second = open(p, "2")) {
        awaitStat(p, "cluster.a.upstream_cx_overflow: 1");
        second.setSoLinger(true, 0); // leaves while waiting: a reset (a FIN is a half-close, passed on once connected)
      }
      awaitLogLine(log, "DC 1");
      try (Socket third = open(p, "3")) {
        awaitStat(p, "cluster.a.upstream_cx_overflow: 2");
        assertThatThrownBy(() -> read(third, 1, Duration.ofMillis(300)))
            .as("waits for the slot: the pending slot was given back").isInstanceOf(SocketTimeoutException.class);
        first.close();
        assertThat(read(third, 3, Duration.ofSeconds(10))).isEqualTo("a:3");
      }
    }
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.a.upstream_rq_pending_overflow: 0");
    assertThat(a.connections.get()).isEqualTo(2);
  }
}
