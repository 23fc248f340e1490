package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.ZipkinCollector;
import io.keelson.dataplane.testing.ZipkinCollector.Span;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Envoy's zipkin tracer ({@code envoy.tracers.zipkin}) reporting to a real in-test Zipkin collector: CLIENT and SERVER spans
 * of two sidecar hops in one trace, shared span context, batches flushed at 5 spans or by the 5 s timer, and a collector
 * that is down costing spans (counted) but no request. Requests are sent with curl.
 */
class ZipkinTracingTest {
  private static final String TRACE = "463ac35c9f6413ad48485a3953bb6124";
  private static final String CALLER_SPAN = "a2fb4a1d1a96d312";
  private static final String CALLER_PARENT = "0020000000000001";

  /** One proxy: every request to cluster "next", spans to cluster "zipkin" at {@code collectorPort}. */
  private static String yaml(String direction, int nextPort, int collectorPort, String zipkinFields) {
    String y = ProxyHarness.withHcm(
        ProxyHarness.bootstrap(ProxyHarness.allTo("next"),
            cluster("next", "ROUND_ROBIN", nextPort) + cluster("zipkin", "ROUND_ROBIN", collectorPort)),
        """
        tracing:
          random_sampling: { value: 100 }
          provider:
            name: envoy.tracers.zipkin
            typed_config:
              "@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig
              collector_cluster: zipkin
              collector_endpoint: /api/v2/spans
        """ + (zipkinFields.contains("collector_endpoint_version") ? "" : "      collector_endpoint_version: HTTP_JSON\n")
            + zipkinFields.stripIndent().lines().map(l -> "      " + l + "\n").reduce("", String::concat));
    String anchor = "  - name: ingress\n";
    return direction == null ? y : y.replace(anchor, anchor + "    traffic_direction: " + direction + "\n");
  }

  private static ProxyHarness proxy(String yaml, PipelineMode mode, String serviceCluster) throws Exception {
    ProxyHarness p = new ProxyHarness(yaml, mode);
    p.server.context().serviceCluster(serviceCluster);
    return p;
  }

  @Test
  void clientAndServerSidecarsReportOneTraceWithTheServerSpanAChildOfTheClientSpan() throws Exception {
    String istio = """
        collector_endpoint_version: HTTP_JSON
        trace_id_128bit: true
        shared_span_context: false
        """;
    try (ZipkinCollector collector = new ZipkinCollector();
        TestUpstream app = new TestUpstream("app");
        ProxyHarness server = proxy(yaml("INBOUND", app.port(), collector.port(), istio), PipelineMode.INLINE, "reviews.shop");
        ProxyHarness client = proxy(yaml("OUTBOUND", server.port(), collector.port(), istio), PipelineMode.DISRUPTOR,
            "productpage.shop")) {
      assertThat(curl("-H", "user-agent: curl-test", "http://127.0.0.1:" + client.port() + "/reviews/1?x=y"))
          .isEqualTo("200");
      await().atMost(Duration.ofSeconds(20)).until(() -> collector.spans.size() >= 2); // each proxy's 5 s timer
      Span out = only(collector.spans, "CLIENT");
      Span in = only(collector.spans, "SERVER");
      assertThat(out.traceId()).hasSize(32).isEqualTo(in.traceId());
      assertThat(out.parentId()).as("the client sidecar starts the trace").isNull();
      assertThat(in.parentId()).as("shared_span_context false: a child of the caller's span").isEqualTo(out.id());
      assertThat(in.id()).isNotEqualTo(out.id());
      assertThat(in.shared()).isFalse();
      assertThat(app.lastHeaders).containsEntry("x-b3-traceid", in.traceId()).containsEntry("x-b3-spanid", in.id())
          .containsEntry("x-b3-parentspanid", out.id()).containsEntry("x-b3-sampled", "1");
      assertThat(out.serviceName()).isEqualTo("productpage.shop");
      assertThat(in.serviceName()).isEqualTo("reviews.shop");
      assertThat(out.name()).isEqualTo("127.0.0.1:" + client.port());
      assertThat(out.timestamp()).isCloseTo(System.currentTimeMillis() * 1000, org.assertj.core.data.Offset.offset(60_000_000L));
      assertThat(out.duration()).isPositive().isGreaterThanOrEqualTo(in.duration());
      String requestId = app.lastHeaders.get("x-request-id");
      assertThat(requestId).isNotBlank();
      for (Span s : List.of(out, in)) {
        assertThat(s.tags())
            .containsEntry("http.method", "GET")
            .containsEntry("http.url", "http://127.0.0.1:" + client.port() + "/reviews/1?x=y")
            .containsEntry("http.status_code", "200")
            .containsEntry("http.protocol", "HTTP/1.1")
            .containsEntry("upstream_cluster", "next")
            .containsEntry("user_agent", "curl-test")
            .containsEntry("response_flags", "-")
            .containsEntry("guid:x-request-id", requestId)
            .containsEntry("component", "proxy")
            .doesNotContainKey("error");
      }
      assertThat(collector.reports).allSatisfy(r -> {
        assertThat(r.contentType()).isEqualTo("application/json");
        assertThat(r.host()).isEqualTo("zipkin"); // Envoy's default: the collector cluster's name
      });
      await().atMost(Duration.ofSeconds(10)).until(() -> client.stat("tracing.zipkin.reports_sent") == 1);
      assertThat(client.stat("tracing.zipkin.spans_sent")).isEqualTo(1);
    }
  }

  @Test
  void sharedSpanContextReportsTheInboundSpanUnderTheCallersIdOverProto() throws Exception {
    String fields = """
        collector_endpoint_version: HTTP_PROTO
        collector_hostname: zipkin.example
        """;
    try (ZipkinCollector collector = new ZipkinCollector();
        TestUpstream app = new TestUpstream("app");
        ProxyHarness proxy = proxy(yaml(null, app.port(), collector.port(), fields)
            .replaceFirst("( *)random_sampling: \\{ value: 100 }", "$1random_sampling: { value: 100 }\n$1max_path_tag_length: 24"),
            PipelineMode.INLINE, "ratings")) {
      String base = "http://127.0.0.1:" + proxy.port();
      assertThat(curl("-H", "x-b3-traceid: " + TRACE, "-H", "x-b3-spanid: " + CALLER_SPAN, "-H",
          "x-b3-parentspanid: " + CALLER_PARENT, "-H", "x-b3-sampled: 1", base + "/fail")).isEqualTo("200");
      assertThat(app.lastHeaders).containsEntry("x-b3-spanid", CALLER_SPAN)
          .containsEntry("x-b3-parentspanid", CALLER_PARENT).doesNotContainKey("traceparent");
      app.forceStatus = 503;
      assertThat(curl(base + "/root")).isEqualTo("503");
      String rootTrace = app.lastHeaders.get("x-b3-traceid");
      assertThat(rootTrace).as("trace_id_128bit false: 64-bit ids for new traces").hasSize(16);
      await().atMost(Duration.ofSeconds(20)).until(() -> collector.spans.size() >= 2);
      Span shared = collector.spans.stream().filter(s -> s.traceId().equals(TRACE)).findFirst().orElseThrow();
      assertThat(shared.kind()).isEqualTo("SERVER");
      assertThat(shared.id()).isEqualTo(CALLER_SPAN);
      assertThat(shared.parentId()).isEqualTo(CALLER_PARENT);
      assertThat(shared.shared()).isTrue();
      assertThat(shared.serviceName()).isEqualTo("ratings");
      Span root = collector.spans.stream().filter(s -> s.traceId().equals(rootTrace)).findFirst().orElseThrow();
      assertThat(root.parentId()).isNull();
      assertThat(root.shared()).isFalse();
      assertThat(root.tags()).containsEntry("http.status_code", "503").containsEntry("error", "true");
      assertThat(root.tags().get("http.url")).as("cut to max_path_tag_length")
          .isEqualTo(("http://127.0.0.1:" + proxy.port() + "/root").substring(0, 24));
      assertThat(collector.reports).allSatisfy(r -> {
        assertThat(r.contentType()).isEqualTo("application/x-protobuf");
        assertThat(r.host()).isEqualTo("zipkin.example");
      });
    }
  }

  @Test
  void spansWaitForTheFiveSecondTimerUnlessFiveArePending() throws Exception {
    try (ZipkinCollector collector = new ZipkinCollector();
        TestUpstream app = new TestUpstream("app");
        ProxyHarness proxy = proxy(yaml(null, app.port(), collector.port(), ""), PipelineMode.INLINE, "details")) {
      String url = "http://127.0.0.1:" + proxy.port() + "/";
      assertThat(curl(url)).isEqualTo("200");
      long sent = System.nanoTime();
      await().atMost(Duration.ofSeconds(20)).until(() -> !collector.reports.isEmpty());
      assertThat(collector.reports.getFirst().spans()).isEqualTo(1);
      assertThat(collector.reports.getFirst().arrivedNanos() - sent)
          .as("one span waits for the flush timer, started with the loop's first span")
          .isGreaterThan(TimeUnit.MILLISECONDS.toNanos(4_000));
      assertThat(proxy.stat("tracing.zipkin.timer_flushed")).isPositive();
      // Five requests on one connection (one event loop): flushed as one report when the fifth ends
      long burst = System.nanoTime();
      assertThat(curl(urls(proxy, "/batch/", 5))).isEqualTo("200".repeat(5));
      await().atMost(Duration.ofSeconds(20)).until(() -> collector.reports.size() >= 2);
      assertThat(collector.reports.get(1).spans()).isEqualTo(5);
      assertThat(collector.reports.get(1).arrivedNanos() - burst).as("flushed by size, before the next timer")
          .isLessThan(TimeUnit.MILLISECONDS.toNanos(4_000));
      assertThat(collector.spans).hasSize(6);
    }
  }

  @Test
  void aCollectorThatIsDownCostsSpansCountedButNoRequest() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    try (TestUpstream app = new TestUpstream("app");
        ProxyHarness proxy = proxy(yaml(null, app.port(), deadPort, ""), PipelineMode.INLINE, "details")) {
      assertThat(curl(urls(proxy, "/", 10))).isEqualTo("200".repeat(10));
      await().atMost(Duration.ofSeconds(20)).until(() -> proxy.stat("tracing.zipkin.spans_dropped") == 10);
      assertThat(proxy.stat("tracing.zipkin.reports_failed")).isEqualTo(2);
      assertThat(proxy.stat("tracing.zipkin.reports_sent")).isZero();
      assertThat(proxy.stat("tracing.zipkin.spans_sent")).isEqualTo(10);
      assertThat(curl("http://127.0.0.1:" + proxy.port() + "/after")).isEqualTo("200");
    }
  }

  @Test
  void aCollectorThatRefusesTheReportCountsItDropped() throws Exception {
    try (ZipkinCollector collector = new ZipkinCollector();
        TestUpstream app = new TestUpstream("app");
        ProxyHarness proxy = proxy(yaml(null, app.port(), collector.port(), ""), PipelineMode.INLINE, "details")) {
      collector.status = 500;
      assertThat(curl(urls(proxy, "/", 5))).isEqualTo("200".repeat(5));
      await().atMost(Duration.ofSeconds(20)).until(() -> proxy.stat("tracing.zipkin.reports_dropped") == 1);
      assertThat(proxy.stat("tracing.zipkin.spans_dropped")).isEqualTo(5);
    }
  }

  /** A report skipped for a missing collector cluster was never sent: its spans count as dropped only. */
  @Test
  void aReportSkippedForAMissingCollectorClusterCountsItsSpansDroppedNotSent() throws Exception {
    try (TestUpstream app = new TestUpstream("app");
        ProxyHarness proxy = proxy(yaml(null, app.port(), 1, "").replace("collector_cluster: zipkin",
            "collector_cluster: nowhere"), PipelineMode.INLINE, "details")) {
      assertThat(curl(urls(proxy, "/", 5))).isEqualTo("200".repeat(5));
      await().atMost(Duration.ofSeconds(20)).until(() -> proxy.stat("tracing.zipkin.reports_skipped_no_cluster") == 1);
      assertThat(proxy.stat("tracing.zipkin.spans_dropped")).isEqualTo(5);
      assertThat(proxy.stat("tracing.zipkin.spans_sent")).isZero();
    }
  }

  /**
   * A loop that meets a 17th collector (configs replaced over time) retires its reporters: the spans they hold are sent
   * then, not lost with their timers (before, those of the last 5 s never arrived): all 17 arrive.
   */
  @Test
  void aRetiredReporterSendsTheSpansItHolds() throws Exception {
    int collectors = 17;
    try (ZipkinCollector collector = new ZipkinCollector();
        TestUpstream app = new TestUpstream("app");
        ProxyHarness proxy = new ProxyHarness(yaml(null, app.port(), collector.port(), "collector_hostname: zipkin-0"),
            PipelineMode.INLINE, 1)) {
      for (int i = 0; i < collectors; i++) {
        if (i > 0) {
          proxy.server.update(BootstrapLoader.fromYaml(
              yaml(null, app.port(), collector.port(), "collector_hostname: zipkin-" + i), "test.yaml"));
        }
        assertThat(curl("http://127.0.0.1:" + proxy.port() + "/" + i)).isEqualTo("200");
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> collector.spans.size() == collectors);
      assertThat(collector.reports.stream().map(ZipkinCollector.Report::host).distinct()).hasSize(collectors);
      assertThat(proxy.stat("tracing.zipkin.spans_sent")).isEqualTo(collectors);
      assertThat(proxy.stat("tracing.zipkin.spans_dropped")).isZero();
    }
  }

  @Test
  void refusesWhatTheZipkinTracerDoesNotDoByField() {
    String at = "test.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing.provider"
        + ".typed_config.";
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml(null, 1, 2, "split_spans_for_request: true"), "test.yaml"))
        .hasMessageContaining(at + "split_spans_for_request");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml(null, 1, 2, "collector_endpoint_version: GRPC"), "test.yaml"))
        .hasMessageContaining(at + "collector_endpoint_version: GRPC is not supported");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(
        yaml(null, 1, 2, "collector_endpoint_version: HTTP_JSON").replace("collector_endpoint: /api/v2/spans", ""),
        "test.yaml")).hasMessageContaining(at + "collector_endpoint: '' is not a path");
  }

  /** {@code n} URLs of {@code proxy}: {@code prefix} and 0, 1, ... (curl sends them on one connection). */
  private static String[] urls(ProxyHarness proxy, String prefix, int n) {
    String[] out = new String[n];
    for (int i = 0; i < n; i++) {
      out[i] = "http://127.0.0.1:" + proxy.port() + prefix + i;
    }
    return out;
  }

  private static Span only(List<Span> spans, String kind) {
    List<Span> of = spans.stream().filter(s -> s.kind().equals(kind)).toList();
    assertThat(of).as(kind + " spans").hasSize(1);
    return of.getFirst();
  }

  /** curl's status codes, one per URL (the arguments starting with http://), concatenated; bodies discarded. */
  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-w", "%{http_code}", "--max-time", "20"));
    for (String a : args) {
      if (a.startsWith("http://")) {
        cmd.add("-o");
        cmd.add("/dev/null");
      }
      cmd.add(a);
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
