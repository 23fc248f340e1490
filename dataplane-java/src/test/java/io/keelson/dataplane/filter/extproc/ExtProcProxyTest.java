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
  static final String VHOSTS = """
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

  /** The request-headers phase only, unless {@code extra} sets processing_mode (or says {@link #DEFAULT_MODE}). */
  static String filter(String extra) {
    String mode = extra.contains(DEFAULT_MODE) || extra.contains("processing_mode") ? ""
        : "processing_mode: { request_header_mode: SEND, response_header_mode: SKIP }\n";
    return ("""
        - name: envoy.filters.http.ext_proc
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
            grpc_service:
              envoy_grpc: { cluster_name: processor }
        """ + (mode + extra.replace(DEFAULT_MODE, "")).indent(4)).indent(10);
  }

  /** In {@code extra}: processing_mode unset (Envoy's default: request and response headers sent). */
  private static final String DEFAULT_MODE = "# processing_mode unset\n";

  /** A generous message_timeout (a loaded machine's first stream pays for connecting and class loading) unless set. */
  static ProxyHarness proxy(TestUpstream a, int processorPort, PipelineMode mode, String extra) throws Exception {
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

  /**
   * Envoy's default processing_mode (unset: request and response headers SEND): the processor sees both phases, each
   * on its stream, and its response-header changes reach the client with the upstream's body; a :status change is
   * skipped and counted.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void envoysDefaultModeSendsRequestAndResponseHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, DEFAULT_MODE)) {
      HttpResponse<String> r = proxy.get("/api/both", "X-Drop", "gone");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-processed")).hasValue("processor");
      assertThat(r.headers().firstValue("x-upstream")).isEmpty();
      assertThat(r.body()).startsWith("GET /api/both").contains("x-added: processor").doesNotContain("x-drop");
      assertThat(processor.requests).hasSize(2);
      var sent = processor.requests.get(1);
      assertThat(sent.hasResponseHeaders()).isTrue();
      assertThat(GrpcProcessorServer.header(sent, ":status")).isEqualTo("200");
      assertThat(GrpcProcessorServer.header(sent, "x-upstream")).isEqualTo("a");
      assertThat(sent.getResponseHeaders().getEndOfStream()).isFalse();
      assertThat(proxy.stat("http.ingress_http.ext_proc.streams_started")).isEqualTo(1); // both phases on one stream
      assertThat(proxy.stat("http.ingress_http.ext_proc.stream_msgs_received")).isEqualTo(2);
      assertThat(proxy.stat("http.ingress_http.ext_proc.rejected_header_mutations")).isEqualTo(1);
      assertThat(proxy.get("/api/again").headers().firstValue("x-processed")).hasValue("processor"); // a reused connection
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void immediateResponseOnResponseHeadersReplacesTheUpstreamsAnswer(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, DEFAULT_MODE)) {
      HttpResponse<String> r = proxy.get("/resp-deny");
      assertThat(r.statusCode()).isEqualTo(409);
      assertThat(r.body()).isEqualTo("replaced by processor");
      assertThat(r.headers().firstValue("x-replaced")).hasValue("yes");
      assertThat(r.headers().firstValue("x-upstream")).isEmpty();
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(proxy.get("/api/next").statusCode()).isEqualTo(200); // the connection and the upstream pool go on
    }
  }

  /** No answer to response headers within message_timeout: a 504 instead of the upstream's response, or it goes through. */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aProcessorTimeoutOnResponseHeadersFailsTheResponseUnlessFailureModeAllow(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, DEFAULT_MODE + "message_timeout: 1s")) {
      HttpResponse<String> r = proxy.get("/resp-slow");
      assertThat(r.statusCode()).isEqualTo(504); // Envoy's onMessageTimeout
      assertThat(r.headers().firstValue("x-upstream")).isEmpty();
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_proc.message_timeouts")).isEqualTo(1);
    }
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode,
            DEFAULT_MODE + "message_timeout: 1s\nfailure_mode_allow: true")) {
      HttpResponse<String> r = proxy.get("/resp-slow");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(r.body()).startsWith("GET /resp-slow");
      assertThat(proxy.stat("http.ingress_http.ext_proc.failure_mode_allowed")).isEqualTo(1);
    }
  }

  /** allow_mode_override: a request_headers answer's mode_override skips the response phase of that request only. */
  @Test
  void modeOverrideSkipsTheResponsePhase() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE, DEFAULT_MODE + "allow_mode_override: true")) {
      HttpResponse<String> r = proxy.get("/no-response-phase");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(processor.requests).hasSize(1);
      assertThat(proxy.get("/api").headers().firstValue("x-processed")).hasValue("processor");
      assertThat(processor.requests).hasSize(3);
    }
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), PipelineMode.INLINE, DEFAULT_MODE)) {
      assertThat(proxy.get("/no-response-phase").headers().firstValue("x-processed")).hasValue("processor");
      assertThat(processor.requests).hasSize(2); // without allow_mode_override the override is ignored, as Envoy's
    }
  }

  /** Real curl over HTTP/1.1 and HTTP/2 with Envoy's default mode: response-header changes and replacements reach both. */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void curlSeesResponseHeaderProcessingOverHttp1AndHttp2(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, DEFAULT_MODE)) {
      String base = "http://127.0.0.1:" + proxy.port();
      for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
        String out = CurlStatus.of(version, "-D", "-", base + "/h");
        assertThat(out).as(version).containsIgnoringCase("x-processed: processor").doesNotContainIgnoringCase("x-upstream")
            .endsWith("200");
        assertThat(CurlStatus.of(version, "-D", "-", base + "/resp-deny")).as(version)
            .containsIgnoringCase("x-replaced: yes").endsWith("409");
        assertThat(CurlStatus.of(version, "-X", "POST", "--data", "payload", base + "/post")).as(version).isEqualTo("200");
        assertThat(a.lastBody).asString().isEqualTo("payload");
      }
      assertThat(processor.requests).filteredOn(r -> r.hasResponseHeaders()).hasSize(6);
    }
  }

  private static final String BUFFERED_REQUEST_BODY = "processing_mode: { request_body_mode: BUFFERED, response_header_mode: SKIP }";

  /**
   * request_body_mode BUFFERED: the whole body (content-length, chunked, HTTP/2 DATA) reaches the processor in one
   * request_body message after the request headers; its replacement and header change reach the upstream with a
   * fixed content-length, a clear_body empties it, no mutation keeps it.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aBufferedRequestBodyReplacedByTheProcessorReachesTheUpstream(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, BUFFERED_REQUEST_BODY)) {
      String base = "http://127.0.0.1:" + proxy.port();
      String[][] clients = {{"--http1.1"}, {"--http1.1", "-H", "transfer-encoding: chunked"}, {"--http2-prior-knowledge"}};
      for (String[] client : clients) {
        processor.requests.clear();
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(client),
            java.util.stream.Stream.of("-X", "POST", "--data", "original body", base + "/body-replace")).toArray(String[]::new);
        assertThat(CurlStatus.of(args)).as(String.join(" ", client)).isEqualTo("200");
        assertThat(a.lastBody).asString().isEqualTo("replaced by processor");
        assertThat(a.lastHeaders).containsEntry("content-length", "21").containsEntry("x-body-seen", "yes")
            .containsEntry("x-added", "processor").doesNotContainKey("transfer-encoding");
        assertThat(processor.requests).hasSize(2);
        var body = processor.requests.get(1).getRequestBody();
        assertThat(body.getBody().toStringUtf8()).isEqualTo("original body");
        assertThat(body.getEndOfStream()).isTrue();
      }
      assertThat(CurlStatus.of("--http1.1", "-X", "POST", "--data", "gone", base + "/body-clear")).isEqualTo("200");
      assertThat(a.lastBody).isEmpty();
      assertThat(a.lastHeaders).containsEntry("content-length", "0");
      assertThat(CurlStatus.of("--http2-prior-knowledge", "-X", "POST", "--data", "kept", base + "/body-keep"))
          .isEqualTo("200");
      assertThat(a.lastBody).asString().isEqualTo("kept");
      processor.requests.clear();
      assertThat(proxy.get("/no-body").statusCode()).isEqualTo(200); // no body: no request_body message, as Envoy
      assertThat(processor.requests).hasSize(1);
    }
  }

  /** A request body over the connection manager's buffer limit (Envoy's default, 1 MiB) is answered 413, unprocessed. */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aBufferedRequestBodyOverTheBufferLimitIs413(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, BUFFERED_REQUEST_BODY)) {
      // A declared content-length over the limit is answered before any body byte is read (a body streamed past it
      // races curl's upload against the proxy closing the connection, code 55/92 instead of the status).
      try (java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
        client.setSoTimeout(20_000);
        client.getOutputStream().write(("POST /body-replace HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + (1024 * 1024 + 512 * 1024) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        String status = new java.io.BufferedReader(new java.io.InputStreamReader(client.getInputStream(),
            StandardCharsets.US_ASCII)).readLine();
        assertThat(status).isEqualTo("HTTP/1.1 413 Payload Too Large");
      }
      assertThat(a.requests.get()).isZero();
      assertThat(processor.requests).noneMatch(r -> r.hasRequestBody());
    }
  }

  /**
   * response_body_mode BUFFERED (after response headers): the whole response body reaches the processor in one
   * response_body message; its replacement and header change reach the client with a fixed content-length (the
   * upstream's body was chunked for /big), an unchanged body goes through as it came.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aBufferedResponseBodyReplacedByTheProcessorReachesTheClient(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode, "processing_mode: { response_body_mode: BUFFERED }")) {
      HttpResponse<String> r = proxy.get("/resp-body-replace");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("a new response body");
      assertThat(r.headers().firstValue("content-length")).hasValue("19");
      assertThat(r.headers().firstValue("x-body-replaced")).hasValue("yes");
      assertThat(r.headers().firstValue("x-processed")).hasValue("processor");
      assertThat(processor.requests).extracting(m -> m.getRequestCase().name())
          .containsExactly("REQUEST_HEADERS", "RESPONSE_HEADERS", "RESPONSE_BODY");
      var body = processor.requests.get(2).getResponseBody();
      assertThat(body.getBody().toStringUtf8()).startsWith("GET /resp-body-replace");
      assertThat(body.getEndOfStream()).isTrue();
      HttpResponse<String> kept = proxy.get("/big/100000");
      assertThat(kept.statusCode()).isEqualTo(200);
      assertThat(kept.body()).hasSize(100_000);
      String out = CurlStatus.of("--http2-prior-knowledge", "-D", "-", "http://127.0.0.1:" + proxy.port()
          + "/resp-body-replace/h2");
      assertThat(out).containsIgnoringCase("x-body-replaced: yes").containsIgnoringCase("content-length: 19")
          .endsWith("200");
    }
  }

  /** A response body over the buffer limit (1 MiB) is a 500 instead of the upstream's response, as Envoy answers. */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aBufferedResponseBodyOverTheBufferLimitIs500(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor.port(), mode,
            "processing_mode: { response_header_mode: SKIP, response_body_mode: BUFFERED }")) {
      assertThat(proxy.get("/big/2000000").statusCode()).isEqualTo(500);
      assertThat(CurlStatus.of("--http2-prior-knowledge", "http://127.0.0.1:" + proxy.port() + "/big/2000000"))
          .isEqualTo("500");
      assertThat(processor.requests).noneMatch(m -> m.hasResponseBody());
      assertThat(proxy.get("/api").statusCode()).isEqualTo(200);
    }
  }
}
