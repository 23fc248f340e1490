package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Envoy's HTTP/3 codec counters ({@code http3.rx_reset}, {@code tx_reset}, {@code quic_version_rfc_v1}) and the QUIC
 * listener's {@code listener.<ip>_<port>.downstream_cx_total} / {@code _active} on {@code /stats}, with Netty's client.
 */
class Http3CodecStatsTest extends Http3ListenerFixture {

  @Test
  void connectionsStreamResetsAndTheListenersConnectionsAreCounted() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = startH3("{ idle_timeout: 60s }", ProxyHarness.allTo("backend"), "", "",
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port()));
    InetSocketAddress bound = p.listenerAddress("h3");
    String listener = "listener." + bound.getAddress().getHostAddress() + "_" + bound.getPort() + ".";
    assertThat(stat(p, "http3.rx_reset")).isZero();
    try (H3Client client = new H3Client(bound.getPort())) {
      assertThat(client.send("GET", "/fine").get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(stat(p, "http3.quic_version_rfc_v1")).isEqualTo(1);
      assertThat(stat(p, listener + "downstream_cx_total")).isEqualTo(1);
      assertThat(stat(p, listener + "downstream_cx_active")).isEqualTo(1);
      // the proxy resets a malformed request (a connection-specific field): tx_reset
      assertThatThrownBy(() -> client.send("GET", "/bad", "connection", "close").get(30, TimeUnit.SECONDS))
          .isNotNull();
      assertThat(stat(p, "http3.tx_reset")).isEqualTo(1);
      // the client gives up on a slow response: rx_reset (Netty's client may have answered the reset above with its own)
      long before = stat(p, "http3.rx_reset");
      client.sendThenCancel("GET", "/delay/60000", false).get(20, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(20)).until(() -> stat(p, "http3.rx_reset") == before + 1);
      assertThat(stat(p, "http3.tx_reset")).isEqualTo(1);
    }
    await("the closed connection leaves the listener's active gauge").atMost(Duration.ofSeconds(20))
        .until(() -> stat(p, listener + "downstream_cx_active") == 0);
    assertThat(stat(p, listener + "downstream_cx_total")).isEqualTo(1);
  }
}
