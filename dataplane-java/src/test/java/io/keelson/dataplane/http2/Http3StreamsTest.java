package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http3.Http3ErrorCode;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many streams on one HTTP/3 connection, header routing, request trailers and gRPC over HTTP/3, and streams cancelled
 * by the client (the premature-reset check), with Netty's client.
 */
class Http3StreamsTest extends Http3ListenerFixture {
  private static final String BY_HEADER_AND_GRPC = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/test.Echo/", grpc: {} }
                        route: { cluster: grpc }
                      - match: { prefix: "/", headers: [ { name: x-tenant, string_match: { exact: blue } } ] }
                        route: { cluster: blue }
                      - match: { prefix: "/" }
                        route: { cluster: backend }
      """;

  private ProxyServer start(String clusters) throws Exception {
    return startH3("{ quic_protocol_options: { max_concurrent_streams: 64 }, idle_timeout: 30s }", BY_HEADER_AND_GRPC,
        "", "", clusters);
  }

  @Test
  void fiftyConcurrentStreamsOnOneConnectionAreAllAnsweredAndRoutedByHeader() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    TestUpstream blue = proxies.keep(new TestUpstream("blue"));
    ProxyServer p = start(ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())
        + ProxyHarness.cluster("blue", "ROUND_ROBIN", blue.port()) + ProxyHarness.cluster("grpc", "ROUND_ROBIN", 1));
    try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
      List<CompletableFuture<H3Client.Response>> answers = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        answers.add(i % 2 == 0 ? client.send("GET", "/delay/200?i=" + i)
            : client.send("GET", "/delay/200?i=" + i, "x-tenant", "blue"));
      }
      for (int i = 0; i < 50; i++) {
        H3Client.Response r = answers.get(i).get(60, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers()).containsEntry("x-upstream", i % 2 == 0 ? "backend" : "blue");
        assertThat(r.bodyText()).startsWith("GET /delay/200?i=" + i + "\n");
      }
    }
    assertThat(up.requests.get()).isEqualTo(25);
    assertThat(blue.requests.get()).isEqualTo(25);
  }

  @Test
  void requestTrailersReachAnHttp1Backend() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())
        + ProxyHarness.cluster("blue", "ROUND_ROBIN", 1) + ProxyHarness.cluster("grpc", "ROUND_ROBIN", 1));
    try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
      H3Client.Response r = client.send("POST", "/upload-with-trailers", "abc".getBytes(StandardCharsets.UTF_8),
          Map.of("x-checksum", "42")).get(60, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bodyText()).contains("body-bytes: 3");
    }
    assertThat(up.lastTrailers).containsEntry("x-checksum", "42");
  }

  @Test
  void aGrpcCallOverHttp3GetsItsMessageAndTrailers() throws Exception {
    try (GrpcEcho grpc = new GrpcEcho()) {
      ProxyServer p = start(ProxyHarness.cluster("backend", "ROUND_ROBIN", 1) + ProxyHarness.cluster("blue", "ROUND_ROBIN", 1)
          + ProxyHarness.cluster("grpc", "ROUND_ROBIN", grpc.port()) + "    http2_protocol_options: {}\n");
      byte[] message = "hello over h3".getBytes(StandardCharsets.UTF_8);
      byte[] framed = new byte[5 + message.length];
      framed[4] = (byte) message.length;
      System.arraycopy(message, 0, framed, 5, message.length);
      try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
        H3Client.Response r = client.send("POST", "/test.Echo/Unary", framed, null, "content-type", "application/grpc",
            "te", "trailers").get(60, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(200);
        assertThat(new String(r.body(), 5, r.body().length - 5, StandardCharsets.UTF_8)).isEqualTo("hello over h3");
        assertThat(r.trailers()).containsEntry("grpc-status", "0");
      }
    }
  }

  @Test
  void maxConcurrentStreamsBoundsTheStreamsAClientMayOpen() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(QuicYaml.bootstrap(QuicYaml.listener("h3", 0,
        "{ quic_protocol_options: { max_concurrent_streams: 2 } }", cert, key, ProxyHarness.allTo("backend"), "", ""),
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())), 1);
    try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
      CompletableFuture<H3Client.Response> a = client.send("GET", "/delay/1500?a");
      CompletableFuture<H3Client.Response> b = client.send("GET", "/delay/1500?b");
      Throwable third = null;
      try {
        client.send("GET", "/third").get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        third = e;
      }
      // QUIC's stream limit (the transport parameter initial_max_streams_bidi): the client cannot open a third stream
      assertThat(third).as("a third stream beyond max_concurrent_streams").hasRootCauseMessage(
          "QuicTransportError{code=4, name='STREAM_LIMIT_ERROR'}: QUICHE_ERR_STREAM_LIMIT");
      assertThat(a.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(b.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(up.requestLines).doesNotContain("GET /third HTTP/1.1");
      // the limit is on open streams: once those two ended, the client gets more (MAX_STREAMS)
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).ignoreExceptions().until(() ->
          client.send("GET", "/fourth").get(10, TimeUnit.SECONDS).status() == 200);
    }
  }

  /** A QUIC listener "h3" to the backend, under Envoy's premature-reset runtime keys. */
  private ProxyServer startWithPrematureResetCheck(TestUpstream up, int totalStreamCount) throws Exception {
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


  /**
   * Envoy's premature-reset (rapid reset) check, with the client cancelling its streams (STOP_SENDING and RESET_STREAM
   * H3_REQUEST_CANCELLED) right after their HEADERS: counted as HTTP/2's, the connection closed with H3_EXCESSIVE_LOAD,
   * the cancelled upstream requests released, other connections served.
   */
  @Test
  void aClientResettingItsStreamsBeforeTheirResponsesIsClosedWithExcessiveLoad() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = startWithPrematureResetCheck(up, 40);
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
    ProxyServer p = startWithPrematureResetCheck(up, 20);
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

  /**
   * A client that sends HEADERS, then DATA while its request is held for routing (a slow ext_authz check), then resets
   * the stream: the read that watches for the reset brings the DATA instead, and the stream watches on, so the reset is
   * seen while the check still runs (it was seen only once the check answered, and the backend then asked).
   */
  @Test
  void aResetAfterBodyDataWhileRoutingIsHeldIsSeenBeforeTheCheckAnswers() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("backend"));
    TestUpstream authz = proxies.keep(new TestUpstream("authz"));
    String slowAuthz = """
                  - name: envoy.filters.http.ext_authz
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
                      http_service:
                        server_uri: { uri: "http://authz", cluster: authz, timeout: 60s }
        """;
    ProxyServer p = startH3("{ idle_timeout: 60s }", ProxyHarness.allTo("backend"), slowAuthz, "",
        ProxyHarness.cluster("backend", "ROUND_ROBIN", backend.port())
            + ProxyHarness.cluster("authz", "ROUND_ROBIN", authz.port()));
    try (H3Client client = new H3Client(p.listenerAddress("h3").getPort())) {
      var stream = client.open("POST", "/delay/40000").get(10, TimeUnit.SECONDS);
      await("the check in flight").atMost(Duration.ofSeconds(20)).until(() -> !authz.requestLines.isEmpty());
      // the DATA reaches the proxy (and is read by its watching read) before the reset does
      client.sendAndReset(stream, "early body".getBytes(StandardCharsets.UTF_8), Duration.ofMillis(500))
          .get(10, TimeUnit.SECONDS);
      await("the reset seen while the 40 s check still runs").atMost(Duration.ofSeconds(20))
          .until(() -> stat(p, "http.h3.downstream_rq_rx_reset") == 1);
      assertThat(backend.requestLines).as("the backend is never asked").isEmpty();
      assertThat(stat(p, "cluster.backend.upstream_rq_total")).isIn(0L, -1L);
    }
  }
}
