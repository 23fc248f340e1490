package io.keelson.dataplane.http1;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The HTTP/1.1 proxy's behaviour over real sockets, run once per pipeline wiring (subclasses pick it),
 * so both wirings pass the same tests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ProxyConformanceSuite {
  TestUpstream a;
  TestUpstream b;
  TestUpstream c;
  ProxyHarness proxy;
  int closedPort;

  abstract PipelineMode mode();

  /** The socket transport the suite runs on; null: the default ({@code --transport auto}). */
  io.keelson.dataplane.transport.Transport transport() {
    return null;
  }

  @BeforeAll
  void start() throws Exception {
    a = new TestUpstream("a");
    b = new TestUpstream("b");
    c = new TestUpstream("c");
    closedPort = TestUpstream.closedPort();
    String vhosts = """
                    - name: other
                      domains: ["other.example.com", "*.other.example.com"]
                      routes:
                      - match: { prefix: "/only" }
                        route: { cluster: c }
                    - name: main
                      domains: ["*"]
                      request_headers_to_add:
                      - header: { key: x-vh, value: main }
                      routes:
                      - match: { path: "/direct" }
                        direct_response: { status: 418, body: { inline_string: "short and stout" } }
                      - match: { prefix: "/old/" }
                        redirect: { host_redirect: "new.example.com", prefix_rewrite: "/new/", response_code: PERMANENT_REDIRECT }
                      - match:
                          prefix: "/api/"
                          headers: [{ name: ":method", string_match: { exact: POST } }]
                        route: { cluster: b }
                      - match:
                          prefix: "/api/"
                          query_parameters: [{ name: v, string_match: { exact: "2" } }]
                        route: { cluster: c }
                      - match:
                          prefix: "/api/"
                          headers: [{ name: x-canary, present_match: true }]
                        route: { cluster: c }
                      - match: { safe_regex: { regex: "^/items/[0-9]+$" } }
                        route: { cluster: b }
                      - match: { prefix: "/rewrite/" }
                        route: { cluster: a, prefix_rewrite: "/rewritten/" }
                      - match: { prefix: "/v1/" }
                        route:
                          cluster: a
                          regex_rewrite: { pattern: { regex: "^/v1/([^/]+)/([0-9]+)$" }, substitution: '/\\1/\\2' }
                      - match: { prefix: "/dashes/" }
                        route: { cluster: a, regex_rewrite: { pattern: { regex: "-" }, substitution: "_$" } }
                      - match: { prefix: "/split" }
                        route:
                          weighted_clusters:
                            clusters:
                            - { name: a, weight: 80 }
                            - { name: b, weight: 20 }
                      - match: { prefix: "/timeout" }
                        route: { cluster: a, prefix_rewrite: "/delay/3000", timeout: 0.3s }
                      - match: { prefix: "/rr" }
                        route: { cluster: ab }
                      - match: { prefix: "/down" }
                        route: { cluster: down }
                      - match: { prefix: "/empty" }
                        route: { cluster: empty }
                      - match: { prefix: "/" }
                        route: { cluster: a }
                        request_headers_to_add:
                        - header: { key: x-route, value: default }
                        response_headers_to_add:
                        - header: { key: x-added, value: "yes" }
        """;
    String clusters = cluster("a", "ROUND_ROBIN", a.port()) + cluster("b", "LEAST_REQUEST", b.port())
        + cluster("c", "RANDOM", c.port()) + cluster("ab", "ROUND_ROBIN", a.port(), b.port())
        + cluster("down", "ROUND_ROBIN", closedPort) + cluster("empty", "ROUND_ROBIN");
    proxy = new ProxyHarness(bootstrap(vhosts, clusters), mode(), transport());
  }

  @AfterAll
  void stop() {
    proxy.close();
    a.close();
    b.close();
    c.close();
  }

  // ---------------------------------------------------------------- routing

  @Test
  void routesByPathPrefixRegexHeaderQueryAndMethod() throws Exception {
    assertThat(upstreamOf(proxy.get("/anything"))).isEqualTo("a");
    assertThat(upstreamOf(proxy.get("/items/42"))).isEqualTo("b");
    assertThat(upstreamOf(proxy.get("/items/abc"))).isEqualTo("a");
    assertThat(upstreamOf(proxy.get("/api/x?v=2"))).isEqualTo("c");
    assertThat(upstreamOf(proxy.get("/api/x?v=1"))).isEqualTo("a");
    assertThat(upstreamOf(proxy.get("/api/x", "x-canary", "1"))).isEqualTo("c");
    HttpResponse<String> post = proxy.send(HttpRequest.newBuilder(proxy.uri("/api/x")).POST(HttpRequest.BodyPublishers.ofString("hello")));
    assertThat(upstreamOf(post)).isEqualTo("b");
    assertThat(post.body()).contains("body-bytes: 5");
  }

  @Test
  void routesByHostToTheMatchingVirtualHost() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /only/x HTTP/1.1\r\nHost: api.other.example.com\r\n\r\n").read();
      assertThat(r.header("x-upstream")).isEqualTo("c");
      RawHttp.Response miss = http.send("GET /nothing HTTP/1.1\r\nHost: other.example.com:8080\r\n\r\n").read();
      assertThat(miss.status()).isEqualTo(404);
    }
  }

  @Test
  void weightedSplitFollowsWeightsOverAThousandRequests() throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    int n = 1000;
    for (int i = 0; i < n; i++) {
      counts.merge(upstreamOf(proxy.get("/split")), 1, Integer::sum);
    }
    assertThat(counts.keySet()).containsExactlyInAnyOrder("a", "b");
    assertThat(counts.get("a") / (double) n).isBetween(0.75, 0.85);
  }

  @Test
  void roundRobinAlternatesBetweenEndpoints() throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 100; i++) {
      counts.merge(upstreamOf(proxy.get("/rr")), 1, Integer::sum);
    }
    // Two event loops each run their own round robin, so the split is even within one request per loop.
    assertThat(counts.get("a")).isBetween(48, 52);
    assertThat(counts.get("b")).isBetween(48, 52);
  }

  @Test
  void directResponseAndRedirectRoutesAnswerWithoutAnUpstream() throws Exception {
    int before = a.requests.get() + b.requests.get() + c.requests.get();
    HttpResponse<String> direct = proxy.get("/direct");
    assertThat(direct.statusCode()).isEqualTo(418);
    assertThat(direct.body()).isEqualTo("short and stout");
    HttpResponse<String> redirect = proxy.get("/old/page?q=1");
    assertThat(redirect.statusCode()).isEqualTo(308);
    assertThat(redirect.headers().firstValue("location")).hasValue("http://new.example.com/new/page?q=1");
    assertThat(a.requests.get() + b.requests.get() + c.requests.get()).isEqualTo(before);
  }

  @Test
  void prefixRewriteReplacesTheMatchedPrefix() throws Exception {
    HttpResponse<String> r = proxy.get("/rewrite/deep/path?x=1");
    assertThat(r.body()).startsWith("GET /rewritten/deep/path?x=1\n");
  }

  @Test
  void regexRewriteReplacesThePathWithCaptureGroupsAndKeepsTheQuery() throws Exception {
    HttpResponse<String> r = proxy.get("/v1/users/42?x=1");
    assertThat(r.body()).startsWith("GET /users/42?x=1\n");
    // No match: the path goes unchanged.
    assertThat(proxy.get("/v1/users/abc?x=1").body()).startsWith("GET /v1/users/abc?x=1\n");
  }

  @Test
  void regexRewriteReplacesEveryMatchAndTakesDollarLiterally() throws Exception {
    assertThat(proxy.get("/dashes/a-b-c?q=a-b").body()).startsWith("GET /dashes/a_$b_$c?q=a-b\n");
  }

  // ---------------------------------------------------------------- headers

  @Test
  void addsForwardingHeadersAndHeaderMutationsAndDropsHopByHopHeaders() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /headers HTTP/1.1\r\nHost: svc\r\nConnection: keep-alive, x-secret\r\n"
          + "x-secret: 1\r\nKeep-Alive: timeout=5\r\nx-keep: 2\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      Map<String, String> seen = a.lastHeaders;
      assertThat(seen).containsEntry("x-keep", "2").containsEntry("x-vh", "main").containsEntry("x-route", "default")
          .containsEntry("x-forwarded-proto", "http").containsEntry("host", "svc");
      assertThat(seen.get("x-request-id")).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
      assertThat(seen).doesNotContainKeys("x-secret", "keep-alive");
      assertThat(r.header("x-added")).isEqualTo("yes");
      assertThat(r.header("x-hop")).as("named by the upstream's Connection header").isNull();
    }
  }

  @Test
  void keepsAnExistingRequestId() throws Exception {
    proxy.get("/id", "x-request-id", "abc-123");
    assertThat(a.lastHeaders).containsEntry("x-request-id", "abc-123");
  }

  // ---------------------------------------------------------------- connections and bodies

  @Test
  void reusesUpstreamConnectionsAcrossKeepAliveRequests() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      http.send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n").read();
      int connections = a.connections.get();
      for (int i = 0; i < 50; i++) {
        assertThat(http.send("GET /k" + i + " HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
      }
      assertThat(a.connections.get()).isEqualTo(connections);
    }
  }

  @Test
  void servesPipelinedRequestsInOrder() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      http.send("GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/7 HTTP/1.1\r\nHost: x\r\n\r\nGET /direct HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(http.read().body()).startsWith("GET /p1\n");
      assertThat(http.read().body()).startsWith("GET /items/7\n");
      assertThat(http.read().status()).isEqualTo(418);
    }
  }

  @Test
  void streamsAChunkedRequestBody() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).contains("body-bytes: 11").contains("transfer-encoding: chunked");
    }
  }

  @Test
  void answersExpectContinueThenForwardsTheBody() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      http.send("POST /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
      assertThat(http.read().status()).isEqualTo(100);
      RawHttp.Response r = http.send("hello").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).contains("body-bytes: 5").doesNotContain("expect:");
    }
  }

  @Test
  void closesAnHttp10ConnectionAfterTheResponse() throws Exception {
    try (RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /old-client HTTP/1.0\r\nHost: x\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(http.closedByPeer(2000)).isTrue();
    }
  }

  @Test
  void backpressuresALargeResponseToASlowReader() throws Exception {
    long total = 48L << 20;
    long before = a.bigBytesWritten.get();
    try (RawHttp http = new RawHttp(proxy.port())) {
      http.socket().setReceiveBufferSize(64 * 1024);
      http.send("GET /big/" + total + " HTTP/1.1\r\nHost: x\r\n\r\n");
      var in = http.socket().getInputStream();
      byte[] buf = new byte[16 * 1024];
      long read = 0;
      while (read < (1 << 20)) {
        read += in.read(buf);
      }
      long readSoFar = read;
      // The reader stalls; the upstream must stall too, instead of the proxy buffering the response.
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3))
          .until(() -> a.bigBytesWritten.get() - before - readSoFar < (16L << 20));
      while (in.read(buf) > 0 && a.bigBytesWritten.get() - before < total) {
        // drain at full speed
      }
      assertThat(a.bigBytesWritten.get() - before).isEqualTo(total);
    }
  }

  @Test
  void backpressuresALargeRequestToASlowUpstream() throws Exception {
    long total = 24L << 20;
    long before = a.bodyBytesRead.get();
    long[] sent = {0};
    try (RawHttp http = new RawHttp(proxy.port())) {
      http.socket().setSendBufferSize(64 * 1024);
      http.send("POST /slowread/1 HTTP/1.1\r\nHost: x\r\nContent-Length: " + total + "\r\n\r\n");
      Thread writer = Thread.ofVirtual().start(() -> {
        byte[] block = new byte[64 * 1024];
        try {
          var out = http.socket().getOutputStream();
          while (sent[0] < total) {
            out.write(block);
            sent[0] += block.length;
          }
        } catch (Exception ignored) {
          // the test fails on the counts below if writing broke
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> sent[0] > (4L << 20));
      long inFlight = sent[0] - (a.bodyBytesRead.get() - before);
      assertThat(inFlight).as("bytes buffered between a fast client and a slow upstream").isLessThan(16L << 20);
      writer.join(Duration.ofSeconds(60));
      RawHttp.Response r = http.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).contains("body-bytes: " + total);
    }
  }

  // ---------------------------------------------------------------- failures

  @Test
  void answers504WhenTheRouteTimeoutExpires() throws Exception {
    long start = System.nanoTime();
    HttpResponse<String> r = proxy.get("/timeout");
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).isEqualTo("upstream request timeout");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2500));
  }

  @Test
  void answers503WhenTheUpstreamRefusesConnections() throws Exception {
    HttpResponse<String> r = proxy.get("/down");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("connection failure");
  }

  @Test
  void answers503WhenTheClusterHasNoEndpoint() throws Exception {
    HttpResponse<String> r = proxy.get("/empty");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).isEqualTo("no healthy upstream");
  }

  @Test
  void answers503WhenTheUpstreamResetsBeforeResponding() throws Exception {
    HttpResponse<String> r = proxy.get("/close");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("disconnect/reset before headers");
  }

  @Test
  void answers502WhenTheUpstreamSpeaksGarbage() throws Exception {
    HttpResponse<String> g = proxy.get("/garbage");
    assertThat(g.statusCode()).as(g.body()).isEqualTo(502);
    assertThat(proxy.get("/after-garbage").statusCode()).isEqualTo(200);
  }

  @Test
  void passesUpstreamErrorStatusesThrough() throws Exception {
    assertThat(proxy.get("/status/500").statusCode()).isEqualTo(500);
  }

  // ---------------------------------------------------------------- bad input

  static Stream<Arguments> smugglingShapes() {
    return Stream.of(
        Arguments.of("content-length with transfer-encoding",
            "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("two different content-lengths",
            "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello"),
        Arguments.of("malformed chunk size",
            "POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("obs-fold", "GET /s HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"),
        Arguments.of("bare LF", "GET /s HTTP/1.1\nHost: x\n\n"),
        Arguments.of("control character in a header name", "GET /s HTTP/1.1\r\nHost: x\r\nX\u0001A: 1\r\n\r\n"),
        Arguments.of("control character in a header value", "GET /s HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n"),
        Arguments.of("space before the colon", "GET /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"),
        Arguments.of("transfer-encoding not ending in chunked",
            "POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
        Arguments.of("over-long request line", "GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"),
        Arguments.of("over-long header block", "GET /s HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(70_000) + "\r\n\r\n"));
  }

  /**
   * Every shape is refused with the connection closed, and the request pipelined behind it never
   * reaches an upstream. Shapes in the head are refused before anything is forwarded; a bad chunk
   * size shows only once the (streamed) body arrives, so that request's head may have reached the
   * upstream, whose connection is then closed mid-request, as Envoy does.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("smugglingShapes")
  void rejectsSmugglingShapesWith400AndCloses(String shape, String raw) throws Exception {
    boolean inBody = shape.equals("malformed chunk size");
    int before = a.requests.get();
    try (RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send(raw + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n").read();
      assertThat(r.status()).isIn(400, 501);
      assertThat(r.header("connection")).isEqualTo("close");
      assertThat(http.closedByPeer(2000)).isTrue();
    }
    if (!inBody) {
      assertThat(a.requests.get()).as("nothing reached the upstream").isEqualTo(before);
    } else {
      // This head may reach the upstream, and the upstream's thread may count it only after the 400 came back:
      // wait until its count stops moving, so a late count cannot land in the next shape's "nothing reached".
      awaitSettled(a.requests);
    }
    assertThat(a.requestLines).noneMatch(l -> l.contains("/smuggled"));
    assertThat(proxy.get("/still-serving").statusCode()).isEqualTo(200);
  }

  // ---------------------------------------------------------------- admin

  @Test
  void adminReportsReadinessStatsClustersAndConfig() throws Exception {
    proxy.get("/for-stats");
    assertThat(proxy.admin("/ready")).isEqualTo("LIVE\n");
    String prom = proxy.admin("/stats/prometheus");
    assertThat(prom).containsPattern("envoy_http_downstream_rq_xx\\{envoy_response_code_class=\"2\",envoy_http_conn_manager_prefix=\"ingress_http\"} [1-9]");
    assertThat(prom).containsPattern("envoy_cluster_upstream_rq_total\\{envoy_cluster_name=\"a\"} [1-9]");
    assertThat(prom).contains("envoy_http_downstream_cx_active{envoy_http_conn_manager_prefix=\"ingress_http\"}");
    assertThat(proxy.admin("/clusters")).contains("a::127.0.0.1:" + a.port() + "::health_flags::healthy");
    assertThat(proxy.admin("/config_dump")).contains("\"ingress\"").contains("static_resources");
  }

  static String upstreamOf(HttpResponse<String> r) {
    assertThat(r.statusCode()).as("status of %s", r.uri()).isEqualTo(200);
    return r.headers().firstValue("x-upstream").orElseThrow();
  }

  /** Waits (at most 3 s) until {@code counter} has not changed for 300 ms. */
  private static void awaitSettled(java.util.concurrent.atomic.AtomicInteger counter) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    int seen = counter.get();
    long stableSince = System.nanoTime();
    while (System.nanoTime() - stableSince < Duration.ofMillis(300).toNanos() && System.nanoTime() < deadline) {
      Thread.sleep(20);
      int now = counter.get();
      if (now != seen) {
        seen = now;
        stableSince = System.nanoTime();
      }
    }
  }
}
