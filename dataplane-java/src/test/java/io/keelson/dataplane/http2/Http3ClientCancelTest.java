package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A client that sent its whole request (HEADERS with FIN) and then gives up on the response, by STOP_SENDING alone or
 * with a RESET_STREAM after the FIN: as Envoy, the upstream request is cancelled at once (its slot released, its
 * HTTP/1.1 connection closed) and counted in {@code downstream_rq_rx_reset}, while the slow upstream has not
 * answered. Netty's HTTP/3 client.
 */
class Http3ClientCancelTest extends Http3ListenerFixture {

  private ProxyServer start(TestUpstream up) throws Exception {
    return startH3("{ idle_timeout: 60s }", ProxyHarness.allTo("backend"), "", "",
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port()));
  }

  @Test
  void stopSendingAloneAfterTheWholeRequestCancelsTheUpstreamRequest() throws Exception {
    cancelsTheUpstreamRequest(false);
  }

  @Test
  void stopSendingAndResetAfterTheRequestsFinCancelTheUpstreamRequest() throws Exception {
    cancelsTheUpstreamRequest(true);
  }

  private void cancelsTheUpstreamRequest(boolean resetToo) throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(up);
    try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
      client.sendThenCancel("GET", "/delay/60000", resetToo).get(20, TimeUnit.SECONDS);
      await("the request reached the slow backend").atMost(Duration.ofSeconds(20))
          .until(() -> !up.requestLines.isEmpty());
      await("the upstream request cancelled while the backend still takes 60 s").atMost(Duration.ofSeconds(20))
          .untilAsserted(() -> {
            assertThat(stat(p, "http.h3.downstream_rq_rx_reset")).isEqualTo(1);
            assertThat(stat(p, "cluster.backend.upstream_rq_active")).isZero();
            assertThat(up.openConnections()).as("the backend sees its connection closed").isZero();
          });
      assertThat(client.isOpen()).as("only the stream is cancelled").isTrue();
      assertThat(client.send("GET", "/fine").get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
  }

  @Test
  void thisNettyHasWhatTheWatchNeeds() {
    assertThat(io.netty.handler.codec.quic.QuicStreamStopSending.unavailabilityCause())
        .as("a Netty upgrade removed what the STOP_SENDING watch reaches: the listeners run without it").isNull();
  }

  @Test
  void aBatchFromOneConnectionDoesNotCheckAnotherConnectionsStreams() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(up);
    int port = p.listenerAddress("h3").getPort();
    try (H3Client waiting = new H3Client(port); H3Client busy = new H3Client(port)) {
      var slow = waiting.send("GET", "/delay/60000"); // its whole request read, its response to come: watched
      await("the request reached the slow backend").atMost(Duration.ofSeconds(20))
          .until(() -> !up.requestLines.isEmpty());
      long before = stat(p, "http3.stop_sending_checks");
      assertThat(before).as("the watch counts its checks").isGreaterThanOrEqualTo(0);
      for (int i = 0; i < 20; i++) { // requests still sending their bodies: not watched, each in its own batch
        int seen = up.requestLines.size();
        busy.open("POST", "/delay/60000").get(30, TimeUnit.SECONDS);
        await("request " + i + " forwarded").atMost(Duration.ofSeconds(20)).until(() -> up.requestLines.size() > seen);
      }
      assertThat(stat(p, "http3.stop_sending_checks") - before)
          .as("20 batches from another connection: the waiting connection's stream is not asked each time")
          .isLessThan(5);
      assertThat(waiting.send("GET", "/fine").get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(stat(p, "http3.stop_sending_checks")).as("its own packets have its streams asked")
          .isGreaterThan(before);
      assertThat(slow).isNotDone();
    }
  }
}
