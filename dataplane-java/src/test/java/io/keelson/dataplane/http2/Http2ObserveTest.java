package io.keelson.dataplane.http2;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.testkit.OtlpCollector;
import io.keelson.testkit.OtlpCollector.ReceivedSpan;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Access log lines and tracing spans for HTTP/2 streams, with the HTTP/1.1 path's formats and propagation. */
class Http2ObserveTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT = "00f067aa0ba902b7";
  private static final String FORMAT =
      "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT%"
          + " %UPSTREAM_CLUSTER% %UPSTREAM_HOST% %ROUTE_NAME% %REQ(X-TEST-ID)% %RESP(X-UPSTREAM)%\\n";

  @TempDir Path dir;

  private static String yaml(Path log, int upPort, int deadPort, int collectorPort) {
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - name: dead-route
                        match: { prefix: "/dead" }
                        route: { cluster: dead }
                      - name: ok-route
                        match: { prefix: "/" }
                        route: { cluster: up }
        """;
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(routes, cluster("up", "ROUND_ROBIN", upPort)
        + cluster("dead", "ROUND_ROBIN", deadPort) + cluster("otel", "ROUND_ROBIN", collectorPort)),
        ProxyHarness.fileAccessLog(log, FORMAT), ProxyHarness.otelTracing(0, "h2-hop"));
  }


  private static DefaultFullHttpRequest get(String path, String... headers) {
    DefaultFullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    for (int i = 0; i < headers.length; i += 2) {
      r.headers().set(headers[i], headers[i + 1]);
    }
    return r;
  }

  private static int status(H2Client client, DefaultFullHttpRequest r) throws Exception {
    FullHttpResponse resp = client.send(r).get(10, TimeUnit.SECONDS);
    try {
      return resp.status().code();
    } finally {
      resp.release();
    }
  }

  @Test
  void streamsAreLoggedWithTheHttp1FormatOperatorsAndProtocolHttp2() throws Exception {
    Path log = dir.resolve("access.log");
    try (OtlpCollector collector = new OtlpCollector();
        TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(log, up.port(), TestUpstream.closedPort(), collector.port()), PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      assertThat(status(client, get("/hello?x=1", "x-test-id", "t1"))).isEqualTo(200);
      assertThat(status(client, get("/dead", "x-test-id", "t2"))).isEqualTo(503);
      await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 2);
      List<String> lines = Files.readAllLines(log);
      assertThat(lines.get(0)).matches(
          "GET /hello\\?x=1 HTTP/2 200 - 0 [1-9][0-9]* up \\Q127.0.0.1:" + up.port() + "\\E ok-route t1 up");
      assertThat(lines.get(1)).matches("GET /dead HTTP/2 503 UF 0 [0-9]+ dead 127\\.0\\.0\\.1:[0-9]+ dead-route t2 -");
    }
  }

  @Test
  void aSampledStreamExportsAServerSpanAndPropagatesW3cUpstream() throws Exception {
    try (OtlpCollector collector = new OtlpCollector();
        TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(dir.resolve("a.log"), up.port(), TestUpstream.closedPort(), collector.port()),
            PipelineMode.DISRUPTOR);
        H2Client client = new H2Client(proxy.port())) {
      assertThat(status(client, get("/reviews/1?x=y", "traceparent", "00-" + TRACE + "-" + PARENT + "-01",
          "user-agent", "t/2"))).isEqualTo(200);
      String[] upstream = up.lastHeaders.get("traceparent").split("-");
      assertThat(upstream[1]).isEqualTo(TRACE);
      assertThat(upstream[2]).isNotEqualTo(PARENT);
      await().atMost(Duration.ofSeconds(10)).until(() -> !collector.spans.isEmpty());
      ReceivedSpan span = collector.spans.get(0);
      assertThat(span.traceId()).isEqualTo(TRACE);
      assertThat(span.parentSpanId()).isEqualTo(PARENT);
      assertThat(span.spanId()).as("the upstream's parent is this hop's span").isEqualTo(upstream[2]);
      assertThat(span.kind()).isEqualTo(OtlpCollector.KIND_SERVER);
      assertThat(span.attributes())
          .containsEntry("url.path", "/reviews/1")
          .containsEntry("url.query", "x=y")
          .containsEntry("network.protocol.version", "2")
          .containsEntry("user_agent.original", "t/2")
          .containsEntry("http.response.status_code", 200L)
          .containsEntry("upstream_cluster", "up")
          .containsEntry("response_flags", "-");
    }
  }

  @Test
  void b3MultiHeadersArePropagatedInB3WithThisHopAsTheParent() throws Exception {
    try (OtlpCollector collector = new OtlpCollector();
        TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(dir.resolve("b.log"), up.port(), TestUpstream.closedPort(), collector.port()),
            PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      assertThat(status(client, get("/", "x-b3-traceid", TRACE, "x-b3-spanid", PARENT, "x-b3-sampled", "1")))
          .isEqualTo(200);
      assertThat(up.lastHeaders).containsEntry("x-b3-traceid", TRACE).containsEntry("x-b3-parentspanid", PARENT)
          .containsEntry("x-b3-sampled", "1");
      assertThat(up.lastHeaders.get("x-b3-spanid")).hasSize(16).isNotEqualTo(PARENT);
      await().atMost(Duration.ofSeconds(10)).until(() -> !collector.spans.isEmpty());
      assertThat(collector.spans.get(0).spanId()).isEqualTo(up.lastHeaders.get("x-b3-spanid"));
    }
  }
}
