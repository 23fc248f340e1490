package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Attacks a running proxy with hand-built HTTP/2 frames and checks it stays bounded (the attacker's
 * connection is cut or the stream refused, the upstream sees a bounded amount of work) while a
 * well-behaved client on another connection keeps being served.
 */
class Http2AbuseTest {
  private TestUpstream upstream;
  private ProxyHarness proxy;
  private H2Client goodClient;

  @BeforeEach
  void start() throws Exception {
    upstream = new TestUpstream("u1");
    proxy = new ProxyHarness(yaml("", 8), PipelineMode.INLINE);
    goodClient = new H2Client(proxy.port());
  }

  private String yaml(String runtime, int maxConcurrentStreams) {
    return runtime + ProxyHarness.withHcm(
        ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
        "stream_idle_timeout: 4s", // long enough for a loaded machine to answer the good client
        "http2_protocol_options: { max_concurrent_streams: " + maxConcurrentStreams
            + ", initial_stream_window_size: 65535, initial_connection_window_size: 1048576 }");
  }

  /**
   * Replaces the proxy with one whose runtime sets Envoy's premature-reset keys (the check otherwise needs 500
   * streams) and which allows 100 concurrent streams.
   */
  private void restartWithPrematureResetCheck(int totalStreamCount, int minStreamLifetimeSeconds) throws Exception {
    goodClient.close();
    proxy.close();
    proxy = new ProxyHarness(yaml("""
        layered_runtime:
          layers:
          - name: premature_resets
            static_layer:
              overload.premature_reset_total_stream_count: %d
              overload.premature_reset_min_stream_lifetime_seconds: %d
        """.formatted(totalStreamCount, minStreamLifetimeSeconds), 100), PipelineMode.INLINE);
    goodClient = new H2Client(proxy.port());
  }

  private static final String PREMATURE_RESETS = "http.ingress_http.downstream_rq_too_many_premature_resets";
  private static final String STREAMS = "http.ingress_http.downstream_rq_total";

  /**
   * A paced attacker that opens a stream (HEADERS without END_STREAM, so it is routed and its upstream
   * connection opened) and resets it right away, 300 times: below Netty's 400-resets-per-10 s budget, which
   * never cut it off. Envoy's premature-reset check does: with premature_reset_total_stream_count 100, at 50
   * premature resets.
   */
  @Test
  void pacedPrematureResetsBelowNettysBudgetCloseTheConnection() throws Exception {
    restartWithPrematureResetCheck(100, 1);
    int sent = 0;
    try (RawH2 attacker = new RawH2(proxy.port())) {
      int[] count = {0};
      attacker.quietly(() -> {
        for (int stream = 1; count[0] < 300 && !attacker.closedByPeer; stream += 2) {
          attacker.open(stream, "/delay/200");
          attacker.rst(stream, RawH2.CANCEL);
          count[0]++;
          try {
            if (count[0] % 10 == 0 && !attacker.sync(Duration.ofSeconds(10))) {
              return; // cut off
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      });
      sent = count[0];
      RawH2.Frame goAway = attacker.goAway(Duration.ofSeconds(10));
      assertThat(goAway).as("GOAWAY after %s reset streams", sent).isNotNull();
      assertThat(goAway.errorCode()).isEqualTo(RawH2.ENHANCE_YOUR_CALM);
      await().atMost(Duration.ofSeconds(10)).until(() -> attacker.closedByPeer);
    }
    assertThat(proxy.stat(PREMATURE_RESETS)).isEqualTo(1);
    // 50 premature resets close it; what was in flight behind the last one (at most 10 streams) is ignored after the GOAWAY
    assertThat(proxy.stat(STREAMS)).as("streams the proxy served, of %s sent", sent).isBetween(50L, 60L);
    assertThat(upstream.requests.get()).isLessThanOrEqualTo(60);
    wellBehavedClientIsServed();
  }

  /** A client that cancels one stream in four (25% < 50%) among many completed ones keeps its connection. */
  @Test
  void aClientThatCancelsAFewOfManyStreamsKeepsItsConnection() throws Exception {
    restartWithPrematureResetCheck(20, 1);
    try (RawH2 client = new RawH2(proxy.port())) {
      for (int i = 0, stream = 1; i < 80; i++, stream += 2) {
        if (i % 4 == 3) {
          client.open(stream, "/delay/200");
          client.rst(stream, RawH2.CANCEL);
          continue;
        }
        client.get(stream, "/fine");
        int s = stream;
        assertThat(client.await(f -> f.stream() == s && f.type() == RawH2.HEADERS, Duration.ofSeconds(20)))
            .as("response to stream %s", s).isNotNull();
      }
      assertThat(client.goAway(Duration.ofMillis(200))).isNull();
      assertThat(client.closedByPeer).isFalse();
    }
    assertThat(proxy.stat(PREMATURE_RESETS)).isZero();
  }

  /**
   * Resets of streams that lived longer than premature_reset_min_stream_lifetime_seconds (0 here: Envoy
   * truncates the lifetime to whole seconds, so a stream reset within 1 s counts) are not premature: 24 streams
   * reset after 1.2 s leave the connection serving. The same 24 streams reset at once get the connection closed.
   */
  @Test
  void resetsAfterTheMinimumStreamLifetimeAreNotPremature() throws Exception {
    restartWithPrematureResetCheck(20, 0);
    try (RawH2 client = new RawH2(proxy.port())) {
      for (int stream = 1; stream <= 47; stream += 2) {
        client.open(stream, "/delay/10000");
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> upstream.requests.get() >= 24);
      Thread.sleep(1200);
      for (int stream = 1; stream <= 47; stream += 2) {
        client.rst(stream, RawH2.CANCEL);
      }
      client.get(49, "/fine");
      assertThat(client.await(f -> f.stream() == 49 && f.type() == RawH2.HEADERS, Duration.ofSeconds(20))).isNotNull();
      assertThat(client.goAway(Duration.ofMillis(200))).isNull();
    }
    assertThat(proxy.stat(PREMATURE_RESETS)).isZero();

    try (RawH2 attacker = new RawH2(proxy.port())) {
      attacker.quietly(() -> {
        for (int stream = 1; stream <= 47; stream += 2) {
          attacker.open(stream, "/delay/10000");
          attacker.rst(stream, RawH2.CANCEL);
        }
      });
      cutOff(attacker, RawH2.ENHANCE_YOUR_CALM);
    }
    assertThat(proxy.stat(PREMATURE_RESETS)).isEqualTo(1);
    wellBehavedClientIsServed();
  }

  @AfterEach
  void stop() {
    goodClient.close();
    proxy.close();
    upstream.close();
  }

  /**
   * The attacker's connection was cut: a GOAWAY with {@code code}, or (when the attacker was still
   * writing as the proxy closed, and TCP's reset discarded the GOAWAY) just the close.
   */
  private static void cutOff(RawH2 attacker, Long... codes) throws InterruptedException {
    RawH2.Frame goAway = attacker.goAway(Duration.ofSeconds(20));
    if (goAway != null) {
      assertThat(goAway.errorCode()).isIn((Object[]) codes);
    } else {
      assertThat(attacker.closedByPeer).as("GOAWAY or close").isTrue();
    }
  }

  private void wellBehavedClientIsServed() throws Exception {
    FullHttpResponse r = goodClient.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/fine"))
        .get(20, TimeUnit.SECONDS);
    assertThat(r.status().code()).isEqualTo(200);
    r.release();
  }

  @Test
  void rapidResetIsAnsweredWithGoAway() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      attacker.quietly(() -> {
        for (int stream = 1; stream < 20_000; stream += 2) {
          attacker.get(stream, "/delay/200");
          attacker.rst(stream, RawH2.CANCEL);
        }
      });
      cutOff(attacker, RawH2.ENHANCE_YOUR_CALM);
    }
    assertThat(upstream.requests.get()).isLessThan(1000); // about the reset budget, not the 10,000 streams
    wellBehavedClientIsServed();
  }

  @Test
  void aFloodOfTinyContinuationFramesIsCutOff() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      byte[] block = attacker.headerBlock("GET", "/x");
      attacker.quietly(() -> {
        attacker.frame(RawH2.HEADERS, 0, 1, block); // no END_HEADERS: CONTINUATION must follow
        for (int i = 0; i < 100_000; i++) {
          attacker.frame(RawH2.CONTINUATION, 0, 1, new byte[0]);
        }
      });
      cutOff(attacker, RawH2.PROTOCOL_ERROR, RawH2.ENHANCE_YOUR_CALM);
    }
    assertThat(upstream.requests.get()).isZero();
    wellBehavedClientIsServed();
  }

  /**
   * A peer that stops reading cannot keep a cut-off connection open. Four large responses fill what the
   * proxy may write to it, then a CONTINUATION flood gets it cut off: the GOAWAY is queued behind response
   * bytes the peer never reads, and Netty closes only once the GOAWAY is written. The connection is
   * closed after the delayed-close time anyway. (Before that, it stayed open for as long as the peer
   * held it, on io_uring and epoll alike.)
   */
  @Test
  void aCutOffPeerThatDoesNotReadIsClosedAnyway() throws Exception {
    wellBehavedClientIsServed(); // its connection counted before the baseline
    long connectionsBefore = proxy.stat("http.ingress_http.downstream_cx_active");
    try (RawH2 attacker = RawH2.notReading(proxy.port(), 0x4, 1 << 30)) { // INITIAL_WINDOW_SIZE 1 GiB
      attacker.windowUpdate(0, 1 << 30);
      for (int stream = 1; stream <= 7; stream += 2) {
        attacker.get(stream, "/big/" + (1L << 30));
      }
      // the proxy's writes to the attacker are stuck once the upstream stops producing
      long[] last = {-1};
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
        long now = upstream.bigBytesWritten.get();
        boolean settled = now > 1_000_000 && now == last[0];
        last[0] = now;
        return settled;
      });
      assertThat(proxy.stat("http.ingress_http.downstream_cx_active")).isEqualTo(connectionsBefore + 1);
      attacker.frame(RawH2.HEADERS, 0, 9, attacker.headerBlock("GET", "/x")); // no END_HEADERS
      for (int i = 0; i < 100; i++) {
        attacker.frame(RawH2.CONTINUATION, 0, 9, new byte[0]);
      }
      await().atMost(Duration.ofSeconds(15))
          .untilAsserted(() -> assertThat(proxy.stat("http.ingress_http.downstream_cx_active")).isEqualTo(connectionsBefore));
    }
    wellBehavedClientIsServed();
  }

  @Test
  void aNeverEndingHeaderBlockIsCutOff() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      byte[] chunk = new byte[16_000];
      java.util.Arrays.fill(chunk, (byte) 0x40); // literal headers, never finished
      attacker.quietly(() -> {
        attacker.frame(RawH2.HEADERS, 0, 1, attacker.headerBlock("GET", "/x"));
        for (int i = 0; i < 2_000; i++) { // 32 MB if nobody stopped it
          attacker.frame(RawH2.CONTINUATION, 0, 1, chunk);
        }
      });
      assertThat(attacker.goAway(Duration.ofSeconds(20)) != null || attacker.closedByPeer).isTrue();
    }
    assertThat(upstream.requests.get()).isZero();
    wellBehavedClientIsServed();
  }

  @Test
  void aHeaderListOverTheLimitIsRefusedAndTheConnectionServesOn() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      String big = "v".repeat(1000);
      String[] extra = new String[2 * 70]; // 70 KB of headers > max_request_headers_kb (60)
      for (int i = 0; i < 70; i++) {
        extra[2 * i] = "x-big-" + i;
        extra[2 * i + 1] = big;
      }
      byte[] block = attacker.headerBlock("GET", "/big-headers", extra);
      // The proxy may refuse and hang up before the last CONTINUATION is written: its answer is still recorded.
      attacker.quietly(() -> {
        attacker.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, java.util.Arrays.copyOfRange(block, 0, 16_000));
        for (int at = 16_000; at < block.length; at += 16_000) {
          int end = Math.min(block.length, at + 16_000);
          attacker.frame(RawH2.CONTINUATION, end == block.length ? RawH2.END_HEADERS : 0, 1, java.util.Arrays.copyOfRange(block, at, end));
        }
      });
      RawH2.Frame answer = attacker.await(f -> f.stream() == 1 && (f.type() == RawH2.HEADERS || f.type() == RawH2.RST_STREAM)
          || f.type() == RawH2.GOAWAY, Duration.ofSeconds(20));
      assertThat(answer).isNotNull();
    }
    assertThat(upstream.requests.get()).isZero();
    wellBehavedClientIsServed();
  }

  @Test
  void streamsBeyondMaxConcurrentStreamsAreRefused() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      attacker.await(f -> f.type() == RawH2.SETTINGS, Duration.ofSeconds(10));
      for (int stream = 1; stream <= 39; stream += 2) { // 20 streams, 8 allowed
        attacker.get(stream, "/delay/3000");
      }
      RawH2.Frame refused = attacker.await(f -> f.type() == RawH2.RST_STREAM && f.errorCode() == RawH2.REFUSED_STREAM,
          Duration.ofSeconds(20));
      assertThat(refused).as("frames: %s, upstream requests %s", attacker.frames.stream()
          .map(f -> f.type() + "/" + f.stream() + (f.type() == RawH2.RST_STREAM || f.type() == RawH2.GOAWAY ? "/" + f.errorCode() : "")).toList(),
          upstream.requests.get()).isNotNull();
      Thread.sleep(500);
      assertThat(upstream.requests.get()).isLessThanOrEqualTo(8);
    }
    wellBehavedClientIsServed();
  }

  @Test
  void aWindowOverflowIsAFlowControlError() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      attacker.windowUpdate(0, Integer.MAX_VALUE);
      try {
        attacker.windowUpdate(0, Integer.MAX_VALUE);
      } catch (java.io.IOException e) {
        // The first update already overflowed the 65,535-byte window: the proxy may have sent its GOAWAY and closed.
      }
      RawH2.Frame goAway = attacker.goAway(Duration.ofSeconds(20));
      assertThat(goAway).isNotNull();
      assertThat(goAway.errorCode()).isEqualTo(RawH2.FLOW_CONTROL_ERROR);
    }
    wellBehavedClientIsServed();
  }

  @Test
  void aZeroWindowStallEndsAtTheStreamIdleTimeout() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port(), 0x4, 0)) { // SETTINGS_INITIAL_WINDOW_SIZE = 0
      attacker.get(1, "/big/" + (100L * 1024 * 1024));
      RawH2.Frame reset = attacker.await(f -> f.stream() == 1 && f.type() == RawH2.RST_STREAM, Duration.ofSeconds(20));
      assertThat(reset).isNotNull();
      assertThat(attacker.dataBytes.get()).isZero();
    }
    assertThat(upstream.bigBytesWritten.get()).isLessThan(32L * 1024 * 1024);
    wellBehavedClientIsServed();
  }

  @Test
  void aPingFloodIsAnsweredWithGoAway() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      attacker.quietly(() -> {
        for (int i = 0; i < 5_000; i++) {
          attacker.frame(RawH2.PING, 0, 0, new byte[8]);
        }
      });
      cutOff(attacker, RawH2.ENHANCE_YOUR_CALM);
    }
    wellBehavedClientIsServed();
  }

  @Test
  void aSettingsFloodIsAnsweredWithGoAway() throws Exception {
    try (RawH2 attacker = new RawH2(proxy.port())) {
      attacker.quietly(() -> {
        for (int i = 0; i < 5_000; i++) {
          attacker.frame(RawH2.SETTINGS, 0, 0, new byte[0]);
        }
      });
      cutOff(attacker, RawH2.ENHANCE_YOUR_CALM);
    }
    wellBehavedClientIsServed();
  }
}
