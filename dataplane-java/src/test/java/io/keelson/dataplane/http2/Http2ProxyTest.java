package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** h2c with prior knowledge on an HTTP listener, to an HTTP/1.1 upstream, through a real proxy. */
class Http2ProxyTest {
  private TestUpstream upstream;
  private ProxyHarness proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = new TestUpstream("u1");
    String vhosts = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/direct" }
                        direct_response: { status: 200, body: { inline_string: "direct" } }
                      - match: { prefix: "/v1/" }
                        route:
                          cluster: backend
                          regex_rewrite: { pattern: { regex: "^/v1/([^/]+)/([0-9]+)$" }, substitution: '/\\1/\\2' }
                      - match: { prefix: "/" }
                        route: { cluster: backend }
        """;
    proxy = new ProxyHarness(ProxyHarness.bootstrap(vhosts, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
        PipelineMode.INLINE);
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  private static DefaultFullHttpRequest get(String path) {
    return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
  }

  @Test
  void curlWithPriorKnowledgeIsServedOverHttp2() throws Exception {
    Process p = new ProcessBuilder("curl", "-s", "-i", "--http2-prior-knowledge", "-m", "10",
        "http://127.0.0.1:" + proxy.port() + "/hello?x=1").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(out).startsWith("HTTP/2 200").contains("x-upstream: u1").doesNotContain("x-hop");
    assertThat(out).contains("GET /hello?x=1").contains("host: 127.0.0.1:" + proxy.port());
    assertThat(upstream.requestLines).contains("GET /hello?x=1 HTTP/1.1");
  }

  @Test
  void regexRewriteAppliesToStreamsWithCaptureGroupsAndKeepsTheQuery() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = client.send(get("/v1/users/42?x=1")).get(20, TimeUnit.SECONDS);
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.content().toString(StandardCharsets.UTF_8)).startsWith("GET /users/42?x=1\n");
      r.release();
    }
    assertThat(upstream.requestLines).contains("GET /users/42?x=1 HTTP/1.1");
  }

  @Test
  void http1KeepsWorkingOnTheSamePort() throws Exception {
    var r = proxy.get("/plain");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).startsWith("GET /plain");
  }

  @Test
  void requestBodyAndDirectResponsesTravelOverHttp2() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      byte[] body = new byte[300_000];
      var post = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload", Unpooled.wrappedBuffer(body));
      FullHttpResponse r = client.send(post).get(20, TimeUnit.SECONDS);
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("body-bytes: 300000").contains("x-forwarded-proto: http");
      r.release();
      FullHttpResponse d = client.send(get("/direct")).get(20, TimeUnit.SECONDS);
      assertThat(d.status().code()).isEqualTo(200);
      assertThat(d.content().toString(StandardCharsets.UTF_8)).isEqualTo("direct");
      d.release();
    }
  }

  @Test
  void manyStreamsShareOneDownstreamConnection() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      List<CompletableFuture<FullHttpResponse>> all = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        all.add(client.send(get("/n/" + i)));
      }
      for (int i = 0; i < all.size(); i++) {
        FullHttpResponse r = all.get(i).get(30, TimeUnit.SECONDS);
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).startsWith("GET /n/" + i + "\n");
        r.release();
      }
    }
  }

  @Test
  void streamsAreRoutedOnTheDisruptorRingToo() throws Exception {
    try (ProxyHarness ring = new ProxyHarness(
            ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
            PipelineMode.DISRUPTOR);
        H2Client client = new H2Client(ring.port())) {
      List<CompletableFuture<FullHttpResponse>> all = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        all.add(client.send(get("/ring/" + i)));
      }
      for (int i = 0; i < all.size(); i++) {
        FullHttpResponse r = all.get(i).get(30, TimeUnit.SECONDS);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).startsWith("GET /ring/" + i + "\n");
        r.release();
      }
    }
  }

  @Test
  void aStalledStreamNeitherBlocksOthersNorBuffersWithoutBound() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      AtomicLong received = new AtomicLong();
      client.openStalled(get("/big/" + (200L * 1024 * 1024)), received);
      await().atMost(Duration.ofSeconds(20)).until(() -> upstream.bigBytesWritten.get() > 0);
      for (int i = 0; i < 20; i++) {
        FullHttpResponse r = client.send(get("/other/" + i)).get(20, TimeUnit.SECONDS);
        assertThat(r.status().code()).isEqualTo(200);
        r.release();
      }
      // The stalled stream's window (64 KiB) shuts; the proxy stops reading the upstream, which stops
      // writing once its socket buffers fill: a few MiB at most, never the 200 MiB it was asked for.
      Thread.sleep(1000);
      long written = upstream.bigBytesWritten.get();
      Thread.sleep(1000);
      assertThat(upstream.bigBytesWritten.get()).isLessThan(32L * 1024 * 1024);
      assertThat(upstream.bigBytesWritten.get() - written).isLessThan(1024 * 1024);
    }
  }
}
