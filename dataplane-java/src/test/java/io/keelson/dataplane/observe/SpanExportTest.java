package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.testkit.OtlpCollector;
import io.keelson.testkit.OtlpCollector.ReceivedSpan;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Spans exported over OTLP/gRPC to a real in-test collector, linked parent to child across two proxy hops. */
class SpanExportTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT = "00f067aa0ba902b7";

  private static String yaml(String service, int nextPort, int collectorPort, double samplingPercent) {
    return ProxyHarness.withHcm(
        ProxyHarness.bootstrap(ProxyHarness.allTo("next"), cluster("next", "ROUND_ROBIN", nextPort) + cluster("otel", "ROUND_ROBIN", collectorPort)),
        ProxyHarness.otelTracing(samplingPercent, service));
  }

  @Test
  void twoHopsExportServerSpansOfOneTraceWithTheSecondAChildOfTheFirst() throws Exception {
    try (OtlpCollector collector = new OtlpCollector();
        TestUpstream up = new TestUpstream("up");
        ProxyHarness second = new ProxyHarness(yaml("hop-2", up.port(), collector.port(), 0), PipelineMode.INLINE);
        ProxyHarness first = new ProxyHarness(yaml("hop-1", second.port(), collector.port(), 0), PipelineMode.DISRUPTOR)) {
      assertThat(first.get("/reviews/1?x=y", "traceparent", "00-" + TRACE + "-" + PARENT + "-01", "user-agent", "t/1",
          "x-forwarded-for", "203.0.113.7").statusCode()).isEqualTo(200);
      String upstreamParent = up.lastHeaders.get("traceparent").split("-")[2];
      await().atMost(Duration.ofSeconds(10)).until(() -> collector.spans.size() >= 2);
      List<ReceivedSpan> spans = collector.spans;
      assertThat(spans).hasSize(2);
      ReceivedSpan hop1 = spans.stream().filter(s -> "hop-1".equals(s.serviceName())).findFirst().orElseThrow();
      ReceivedSpan hop2 = spans.stream().filter(s -> "hop-2".equals(s.serviceName())).findFirst().orElseThrow();
      assertThat(hop1.traceId()).isEqualTo(TRACE);
      assertThat(hop2.traceId()).isEqualTo(TRACE);
      assertThat(hop1.parentSpanId()).isEqualTo(PARENT);
      assertThat(hop2.parentSpanId()).as("the second hop's span is a child of the first's").isEqualTo(hop1.spanId());
      assertThat(hop2.spanId()).as("the upstream's parent is the last hop's span").isEqualTo(upstreamParent);
      assertThat(hop1.kind()).isEqualTo(OtlpCollector.KIND_SERVER);
      assertThat(hop1.name()).isEqualTo("GET");
      assertThat(hop1.attributes())
          .containsEntry("http.request.method", "GET")
          .containsEntry("url.path", "/reviews/1")
          .containsEntry("url.query", "x=y")
          .containsEntry("http.response.status_code", 200L)
          .containsEntry("network.protocol.version", "1.1")
          .containsEntry("user_agent.original", "t/1")
          .containsEntry("upstream_cluster", "next")
          .containsEntry("response_flags", "-")
          // Without use_remote_address the downstream address is x-forwarded-for's last entry, as Envoy's.
          .containsEntry("client.address", "203.0.113.7");
    }
  }

  @Test
  void unsampledRequestsExportNothing() throws Exception {
    try (OtlpCollector collector = new OtlpCollector();
        TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml("hop", up.port(), collector.port(), 0), PipelineMode.INLINE)) {
      for (int i = 0; i < 20; i++) {
        proxy.get("/");
      }
      proxy.get("/", "traceparent", "00-" + TRACE + "-" + PARENT + "-01"); // a sampled parent: exported
      await().atMost(Duration.ofSeconds(10)).until(() -> !collector.spans.isEmpty());
      proxy.close(); // flushes the batch processor
      assertThat(collector.spans).hasSize(1);
      assertThat(collector.spans.get(0).traceId()).isEqualTo(TRACE);
    }
  }
}
