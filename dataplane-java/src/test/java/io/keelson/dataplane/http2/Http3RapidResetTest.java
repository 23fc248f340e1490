package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http3.Http3ErrorCode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Envoy's premature-reset (rapid reset) check on HTTP/3, with Netty's QUIC client cancelling its streams (STOP_SENDING
 * and RESET_STREAM H3_REQUEST_CANCELLED) right after their HEADERS: counted as HTTP/2's, the connection closed with
 * H3_EXCESSIVE_LOAD, the cancelled upstream requests released, other connections served.
 */
class Http3RapidResetTest {
  @TempDir static Path dir;
  static Path cert;
  static Path key;

  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    cert = QuicYaml.serverCertificate(dir);
    key = dir.resolve("server.key");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A QUIC listener "h3" to the backend, under Envoy's premature-reset runtime keys. */
  private ProxyServer start(TestUpstream up, int totalStreamCount) throws Exception {
    return proxies.start("""
        layered_runtime:
          layers:
          - name: premature_resets
            static_layer:
              overload.premature_reset_total_stream_count: %d
              overload.premature_reset_min_stream_lifetime_seconds: 1
        """.formatted(totalStreamCount) + QuicYaml.bootstrap(QuicYaml.listener("h3", 0,
        "{ quic_protocol_options: { max_concurrent_streams: 200 }, idle_timeout: 60s }", cert, key,
        ProxyHarness.allTo("backend"), "", ""), ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())), 1);
  }

  private static long stat(ProxyServer p, String name) throws Exception {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + ": (\\d+)$").matcher(RunningProxies.admin(p, "/stats"));
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  @Test
  void aClientResettingItsStreamsBeforeTheirResponsesIsClosedWithExcessiveLoad() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(up, 40);
    int port = p.listenerAddress("h3").getPort();
    try (H3Client bystander = new H3Client(port); H3Client attacker = new H3Client(port)) {
      int sent = 0;
      for (; sent < 150 && attacker.isOpen(); sent++) {
        try {
          attacker.openAndReset("POST", "/delay/30000?i=" + sent).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          break; // the connection is gone
        }
        if (sent % 10 == 9) { // paced: the proxy sees each batch's resets before the next
          int before = sent;
          await().atMost(Duration.ofSeconds(20)).until(() -> stat(p, "http.h3.downstream_rq_rx_reset") > before - 10
              || !attacker.isOpen());
        }
      }
      int attempts = sent;
      await("the attacker's connection closed after " + attempts + " resets").atMost(Duration.ofSeconds(30))
          .until(() -> !attacker.isOpen());
      assertThat(attacker.closedBy()).as("the proxy's CONNECTION_CLOSE").isNotNull();
      assertThat(attacker.closedBy().isApplicationClose()).isTrue();
      assertThat(attacker.closedBy().error()).isEqualTo(Http3ErrorCode.H3_EXCESSIVE_LOAD.code());
      assertThat(stat(p, "http.h3.downstream_rq_too_many_premature_resets")).isEqualTo(1);
      // 20 premature resets (half of 40) close it; a batch in flight may add a few more
      assertThat(stat(p, "http.h3.downstream_rq_rx_reset")).isBetween(20L, 40L);
      assertThat(attempts).isLessThan(150);
      // the connection beside it is served
      assertThat(bystander.send("GET", "/fine").get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(bystander.isOpen()).isTrue();
    }
    // the cancelled requests that reached the backend were released, not left waiting 30 s for their answers
    assertThat(stat(p, "cluster.backend.upstream_rq_total")).isPositive();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(stat(p, "cluster.backend.upstream_rq_active")).isZero();
      assertThat(stat(p, "http.h3.downstream_cx_active")).isZero();
    });
  }

  @Test
  void aClientThatCancelsAFewOfManyStreamsKeepsItsConnection() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(up, 20);
    try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
      for (int i = 0; i < 60; i++) {
        if (i % 4 == 3) {
          client.openAndReset("POST", "/delay/3000?i=" + i).get(10, TimeUnit.SECONDS);
          continue;
        }
        assertThat(client.send("GET", "/fine?i=" + i).get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      }
      int cancelled = 15;
      await().atMost(Duration.ofSeconds(20))
          .until(() -> stat(p, "http.h3.downstream_rq_rx_reset") == cancelled);
      assertThat(client.isOpen()).isTrue();
      assertThat(client.send("GET", "/last").get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
    assertThat(stat(p, "http.h3.downstream_rq_too_many_premature_resets")).isZero();
  }
}
