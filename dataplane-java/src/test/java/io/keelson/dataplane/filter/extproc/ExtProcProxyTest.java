package io.keelson.dataplane.filter.extproc;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.ext_proc through a real proxy, a real grpc-java ExternalProcessor ({@link GrpcProcessorServer})
 * on its own port over HTTP/2 and a real upstream, with the policy stage inline and on the ring, HTTP/1.1 (Java's
 * client, curl) and HTTP/2 (curl): the processor's header changes reach the upstream, its immediate response reaches
 * the client, a slow processor fails the request (504), a dead or misbehaving one (500), or either lets it through with
 * failure_mode_allow, and per-route disabled and processing_mode overrides skip the processor.
 */
class ExtProcProxyTest {
  private static final String VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/public" }
          route: { cluster: a }
          typed_per_filter_config:
            envoy.filters.http.ext_proc:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute
              disabled: true
        - match: { prefix: "/skip" }
          route: { cluster: a }
          typed_per_filter_config:
            envoy.filters.http.ext_proc:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute
              overrides:
                processing_mode: { request_header_mode: SKIP, response_header_mode: SKIP }
        - match: { prefix: "/" }
          route: { cluster: a }
      """.indent(12);

  private static String filter(String extra) {
    return ("""
        - name: envoy.filters.http.ext_proc
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
            grpc_service:
              envoy_grpc: { cluster_name: processor }
            processing_mode: { request_header_mode: SEND, response_header_mode: SKIP }
        """ + extra.indent(4)).indent(10);
  }

  /** A generous message_timeout (a loaded machine's first stream pays for connecting and class loading) unless set. */
  private static ProxyHarness proxy(TestUpstream a, int processorPort, PipelineMode mode, String extra) throws Exception {
    if (!extra.contains("message_timeout")) {
      extra = extra + "\nmessage_timeout: 10s";
    }
    return new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
        + cluster("processor", "ROUND_ROBIN", processorPort) + "    http2_protocol_options: {}\n", filter(extra)), mode);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void processorHeaderChangesReachTheUpstream(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, "")) {
      HttpResponse<String> r = proxy.get("/api/items?q=2", "X-Drop", "gone", "X-Keep", "kept");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-added", "processor").containsEntry("x-keep", "kept")
          .doesNotContainKey("x-drop");
      assertThat(processor.requests).hasSize(1);
      var sent = processor.requests.get(0);
      assertThat(GrpcProcessorServer.header(sent, ":method")).isEqualTo("GET");
      assertThat(GrpcProcessorServer.header(sent, ":path")).isEqualTo("/api/items?q=2");
      assertThat(GrpcProcessorServer.header(sent, ":scheme")).isEqualTo("http");
      assertThat(GrpcProcessorServer.header(sent, "x-drop")).isEqualTo("gone");
      assertThat(sent.getRequestHeaders().getEndOfStream()).isTrue();
      assertThat(proxy.stat("http.ingress_http.ext_proc.streams_started")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_proc.stream_msgs_sent")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_proc.stream_msgs_received")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void immediateResponseAnswersTheClientWithoutTheUpstream(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, "")) {
      HttpResponse<String> r = proxy.get("/deny/this");
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.body()).isEqualTo("blocked by processor");
      assertThat(r.headers().firstValue("x-blocked")).hasValue("yes");
      // Envoy's permissive rules for immediate responses: an x-envoy-* header goes out, a pseudo-header never does
      assertThat(r.headers().firstValue("x-envoy-blocked-by")).hasValue("processor");
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_proc.rejected_header_mutations")).isEqualTo(1);
    }
  }

  @Test
  void mutationsEnvoysDefaultRulesForbidAreSkippedAndCounted() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE, "")) {
      HttpResponse<String> r = proxy.get("/hostile");
      assertThat(r.statusCode()).as(r.body() + proxy.admin("/stats")).isEqualTo(200);
      assertThat(a.requestLines).containsExactly("GET /hostile HTTP/1.1");
      assertThat(a.lastHeaders).containsEntry("x-ok", "1").doesNotContainKey("x-envoy-original-path");
      assertThat(a.lastHeaders.get("host")).doesNotContain("evil.example");
      assertThat(proxy.stat("http.ingress_http.ext_proc.rejected_header_mutations")).isEqualTo(4);
    }
  }

  /**
   * A processor removing and zeroing content-length of a POST whose body is an HTTP request: refused, and the body
   * goes upstream under the framing the proxy read, so the upstream sees one request with that body (HTTP/1.1 and
   * HTTP/2 clients, curl).
   */
  @Test
  void aProcessorCannotReframeTheBodyIntoASmuggledRequest() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE, "")) {
      String base = "http://127.0.0.1:" + proxy.port();
      String smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
      for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
        assertThat(CurlStatus.of(version, "-X", "POST", "--data-binary", smuggled, base + "/reframe")).isEqualTo("200");
        assertThat(a.lastBody).asString().isEqualTo(smuggled);
      }
      assertThat(a.requestLines).containsExactly("POST /reframe HTTP/1.1", "POST /reframe HTTP/1.1");
      assertThat(proxy.stat("http.ingress_http.ext_proc.rejected_header_mutations")).isEqualTo(6);
    }
  }

  /**
   * An HTTP/2 request reaches the processor without the fields Netty's conversion adds (x-http2-*, host next to
   * :authority, transfer-encoding: chunked for a body without content-length); end_of_stream comes from the stream.
   */
  @Test
  void anHttp2RequestIsSentWithoutTheCodecsConversionFields() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE, "")) {
      String url = "http://127.0.0.1:" + proxy.port() + "/h2";
      assertThat(CurlStatus.of("--http2-prior-knowledge", url)).isEqualTo("200");
      assertThat(CurlStatus.of("--http2-prior-knowledge", "-H", "content-length:", "--data", "x", url)).isEqualTo("200");
      assertThat(a.lastBody).asString().isEqualTo("x");
      assertThat(processor.requests).hasSize(2);
      for (var sent : processor.requests) {
        assertThat(sent.getRequestHeaders().getHeaders().getHeadersList()).extracting(h -> h.getKey())
            .contains(":authority").doesNotContain("host", "transfer-encoding")
            .noneMatch(name -> name.startsWith("x-http2-"));
      }
      assertThat(processor.requests).extracting(r -> r.getRequestHeaders().getEndOfStream()).containsExactly(true, false);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aProcessorSlowerThanMessageTimeoutFailsTheRequest(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, "message_timeout: 1s")) {
      assertThat(proxy.get("/slow").statusCode()).isEqualTo(504);
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_proc.message_timeouts")).isEqualTo(1);
    }
  }

  @Test
  void failureModeAllowLetsTheRequestThroughAfterATimeout() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE,
            "failure_mode_allow: true\nmessage_timeout: 1s\nstat_prefix: edge.")) {
      assertThat(proxy.get("/slow", "X-Drop", "kept").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-drop", "kept").doesNotContainKey("x-added");
      // the filter's stat_prefix follows ext_proc., as Envoy names them
      assertThat(proxy.stat("http.ingress_http.ext_proc.edge.message_timeouts")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_proc.edge.failure_mode_allowed")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aDeadProcessorFailsTheRequestUnlessFailureModeAllow(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode, "")) {
      assertThat(proxy.get("/api").statusCode()).isEqualTo(500);
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_proc.streams_failed")).isEqualTo(1);
    }
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode, "failure_mode_allow: true")) {
      assertThat(proxy.get("/api").statusCode()).isEqualTo(200);
      assertThat(proxy.stat("http.ingress_http.ext_proc.failure_mode_allowed")).isEqualTo(1);
    }
  }

  /**
   * As Envoy resets the stream when the request goes away: a client leaving while its processor is slow (60 s, under a
   * 30 s message_timeout) frees the processor cluster's only max_requests slot at once, so the next request is
   * processed (it would overflow into a 500 while the departed one held the slot).
   */
  @Test
  void aClientLeavingCancelsItsStreamAndFreesTheProcessorClustersSlot() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer()) {
      processor.slowMillis = 60_000;
      String yaml = bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()) + cluster("processor", "ROUND_ROBIN",
          processor.port()) + "    http2_protocol_options: {}\n    circuit_breakers: { thresholds: [ { max_requests: 1 } ] }\n",
          filter("message_timeout: 30s"));
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE)) {
        try (java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
          client.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          await().atMost(10, TimeUnit.SECONDS).until(() -> processor.requests.size() == 1);
        } // the client leaves while its processor is still working
        await().atMost(10, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
            .untilAsserted(() -> assertThat(proxy.get("/api/after").statusCode()).isEqualTo(200));
        assertThat(a.lastHeaders).containsEntry("x-added", "processor");
        assertThat(a.requestLines).containsExactly("GET /api/after HTTP/1.1");
      }
    }
  }

  @Test
  void anAnswerForAnotherPhaseIsAProtocolViolation() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE, "")) {
      assertThat(proxy.get("/wrong").statusCode()).isEqualTo(500);
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_proc.spurious_msgs_received")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void perRouteDisabledAndARequestHeaderModeOverrideSkipTheProcessor(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, "")) {
      assertThat(proxy.get("/public/x").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).doesNotContainKey("x-added");
      assertThat(proxy.get("/skip/x").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).doesNotContainKey("x-added");
      assertThat(processor.requests).isEmpty();
      assertThat(proxy.get("/other").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-added", "processor");
      assertThat(processor.requests).hasSize(1);
    }
  }

  /** Real curl over HTTP/1.1 and HTTP/2 (prior knowledge): the processor sees both, and both see its answers. */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void curlOverHttp1AndHttp2(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, "")) {
      String base = "http://127.0.0.1:" + proxy.port();
      assertThat(CurlStatus.of("--http1.1", "-H", "x-drop: 1", base + "/h1")).isEqualTo("200");
      assertThat(a.lastHeaders).containsEntry("x-added", "processor").doesNotContainKey("x-drop");
      assertThat(CurlStatus.of("--http2-prior-knowledge", "-H", "x-drop: 1", base + "/h2")).isEqualTo("200");
      assertThat(a.lastHeaders).containsEntry("x-added", "processor").doesNotContainKey("x-drop");
      assertThat(CurlStatus.of("--http2-prior-knowledge", base + "/deny/h2")).isEqualTo("403");
      assertThat(CurlStatus.of("--http1.1", "-X", "POST", "--data", "payload", base + "/post")).isEqualTo("200");
      assertThat(a.lastBody).asString().isEqualTo("payload");
      assertThat(processor.requests).extracting(r -> GrpcProcessorServer.header(r, ":path") + " "
              + r.getRequestHeaders().getEndOfStream())
          .containsExactly("/h1 true", "/h2 true", "/deny/h2 true", "/post false");
    }
  }
}
