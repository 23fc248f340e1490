package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.testing.RawHttp;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The connections of a listener an update removed are closed when the drain time has passed, as Envoy closes
 * what is left of a drained listener's connections when {@code --drain-time-s} ends: also one that never sends
 * (or never finishes) a request, which the drain alone keeps open to serve it, and an HTTP/2 connection whose
 * stream outlasts the drain time (its GOAWAY close waits for the stream). Before the fix such a connection
 * stayed open for good (the default idle timeout is none) on a listener that no longer existed. Connections of
 * the listeners the update keeps are not touched.
 */
class RetiredListenerDrainTimeTest {
  static final long DRAIN_MILLIS = 300;
  /** How late after the drain time the close may come on a loaded machine. */
  static final int MARGIN_MILLIS = 5_000;

  private static ListenerFixture fixture() throws Exception {
    return new ListenerFixture(Duration.ofMillis(DRAIN_MILLIS));
  }

  /** Adds listener "extra" (like the first one, an ephemeral port on 127.0.0.1) as {@code version}; its port. */
  private static int addExtra(ListenerFixture p, String version) throws Exception {
    p.proxy.server.update(p.with(version, ListenerFixture.named("extra", p.toV1, "127.0.0.1", 0)));
    return p.proxy.server.boundListeners().get("extra").getPort();
  }

  /**
   * Asserts that {@code c}, whose listener was retired at {@code retiredNanos} (taken just before the update), is
   * still open at half the drain time and closed by the proxy at the drain time (within the margin), not before.
   * The half-time check is made only when the update returned before half the drain time: on a loaded machine the
   * update itself can take longer, and a connection closed by then says nothing about when it was closed.
   */
  static void assertClosedAtTheDrainTime(RawHttp c, long retiredNanos) throws Exception {
    long half = retiredNanos + Duration.ofMillis(DRAIN_MILLIS / 2).toNanos();
    long untilHalf = Duration.ofNanos(half - System.nanoTime()).toMillis();
    if (untilHalf > 0) {
      assertThat(c.closedByPeer((int) untilHalf)).as("still open at half the drain time").isFalse();
    }
    assertThat(c.closedByPeer((int) DRAIN_MILLIS + MARGIN_MILLIS)).as("closed at the drain time").isTrue();
    long after = Duration.ofNanos(System.nanoTime() - retiredNanos).toMillis();
    assertThat(after).as("ms from the update to the close").isGreaterThanOrEqualTo(DRAIN_MILLIS - 20);
  }

  /** A client that connected and sent nothing, or only the start of a request head, and then nothing more. */
  @ParameterizedTest
  @ValueSource(strings = {"", ListenerFixture.HEAD_START})
  void aConnectionThatNeverSendsARequestIsClosedAtTheDrainTime(String sent) throws Exception {
    try (ListenerFixture p = fixture()) {
      int port = addExtra(p, "2");
      try (RawHttp c = p.openAccepted("extra", port, sent)) {
        long retired = System.nanoTime();
        p.proxy.server.update(p.with("3")); // "extra" removed
        assertThat(p.proxy.server.boundListeners()).doesNotContainKey("extra");
        assertClosedAtTheDrainTime(c, retired);
      }
    }
  }

  /** Replaced: same name and port, a new host, so a new socket; the old listener's connection is retired. */
  @Test
  void aConnectionOfAReplacedListenerThatNeverSendsARequestIsClosedAtTheDrainTime() throws Exception {
    try (ListenerFixture p = fixture()) {
      int port = addExtra(p, "2");
      try (RawHttp c = p.openAccepted("extra", port, "")) {
        long retired = System.nanoTime();
        p.proxy.server.update(p.with("3", ListenerFixture.named("extra", p.toV2, "0.0.0.0", port)));
        assertClosedAtTheDrainTime(c, retired);
      }
    }
  }

  /** A keep-alive client that had one exchange and then sends nothing: closed (today at once), nothing left open. */
  @Test
  void aKeepAliveConnectionThatHadOneExchangeIsNotLeftOpen() throws Exception {
    try (ListenerFixture p = fixture()) {
      int port = addExtra(p, "2");
      try (RawHttp c = p.openAccepted("extra", port, ListenerFixture.HEAD_START + ListenerFixture.HEAD_END)) {
        RawHttp.Response r = c.read();
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.header("connection")).as("kept alive").isNotEqualTo("close");
        p.proxy.server.update(p.with("3"));
        assertThat(c.closedByPeer((int) DRAIN_MILLIS + MARGIN_MILLIS)).as("closed by the drain time").isTrue();
      }
    }
  }

  /** The listener the update keeps: its idle connections stay open past the drain time and still serve requests. */
  @Test
  void connectionsOfAListenerThatIsNotRetiredStayOpen() throws Exception {
    try (ListenerFixture p = fixture()) {
      int port = addExtra(p, "2");
      try (RawHttp onExtra = p.openAccepted("extra", port, "");
          RawHttp silent = p.openAccepted("ingress", p.proxy.port(), "");
          RawHttp keptAlive = p.openAccepted("ingress", p.proxy.port(),
              ListenerFixture.HEAD_START + ListenerFixture.HEAD_END)) {
        assertThat(keptAlive.read().status()).isEqualTo(200);
        long retired = System.nanoTime();
        p.proxy.server.update(p.with("3")); // "extra" removed, "ingress" kept
        assertClosedAtTheDrainTime(onExtra, retired); // the deadline has passed
        assertThat(silent.closedByPeer((int) DRAIN_MILLIS)).as("ingress: silent connection open").isFalse();
        assertThat(keptAlive.closedByPeer(1)).as("ingress: keep-alive connection open").isFalse();
        for (RawHttp c : new RawHttp[] {silent, keptAlive}) {
          RawHttp.Response r = c.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read();
          assertThat(r.status()).as(r.body()).isEqualTo(200);
          assertThat(r.header("connection")).isNotEqualTo("close");
        }
      }
    }
  }

  /** An h2c connection with a stream whose response takes longer than the drain time: closed at the drain time. */
  @Test
  void anHttp2ConnectionWithAStreamStillOpenIsClosedAtTheDrainTime() throws Exception {
    try (ListenerFixture p = fixture()) {
      int port = addExtra(p, "2");
      try (H2Client client = new H2Client(port)) {
        int before = p.v1.requests.get();
        var pending = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/delay/30000"));
        await().atMost(Duration.ofSeconds(10)).until(() -> p.v1.requests.get() > before); // the stream is open
        long retired = System.nanoTime();
        AtomicLong closedAt = new AtomicLong();
        pending.whenComplete((r, e) -> closedAt.set(System.nanoTime())); // when it ended, however late we look
        p.proxy.server.update(p.with("3"));
        await().atMost(Duration.ofMillis(DRAIN_MILLIS + MARGIN_MILLIS)).until(() -> closedAt.get() != 0);
        assertThat(Duration.ofNanos(closedAt.get() - retired).toMillis()).as("ms from the update to the close")
            .isGreaterThanOrEqualTo(DRAIN_MILLIS - 20);
        assertThat(pending).as("closed without a response").isCompletedExceptionally();
      }
    }
  }
}
