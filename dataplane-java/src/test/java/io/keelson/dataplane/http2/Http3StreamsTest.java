package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Many streams on one HTTP/3 connection, header routing, request trailers and gRPC over HTTP/3, with Netty's client. */
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
      H3Client.Response r = client.send("POST", "/with-trailers", "abc".getBytes(StandardCharsets.UTF_8),
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
}
