package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest.RequestCase;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A processor's {@code mode_override} through a real proxy and a real grpc-java processor ({@link GrpcProcessorServer},
 * which upper-cases every body chunk of an {@code /upper...} request): with {@code allow_mode_override}, an answer to a
 * headers message changes the body modes for the rest of the request, as Envoy's; {@code allowed_override_modes}
 * keeps only the listed overrides.
 */
class ExtProcModeOverrideTest {
  private static final String HEADERS_ONLY = "processing_mode: { request_header_mode: SEND, response_header_mode: SKIP }";

  /**
   * A request_headers answer's mode_override turns on STREAMED request and response bodies the filter's mode does not
   * send: the backend gets the body upper-cased and so does the client (Java client HTTP/1.1, curl h2c); without
   * allow_mode_override it is ignored.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aRequestHeadersAnswerStreamsBothBodiesThroughTheProcessor(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer()) {
      try (ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode,
          HEADERS_ONLY + "\nallow_mode_override: true")) {
        HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upper-override/echo"))
            .POST(HttpRequest.BodyPublishers.ofString("override me")));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(a.lastBody).asString().isEqualTo("OVERRIDE ME");
        assertThat(r.body()).startsWith("POST /UPPER-OVERRIDE/ECHO\n");
        assertThat(CurlStatus.of("--http2-prior-knowledge", "--data-binary", "an h2 body",
            "http://127.0.0.1:" + proxy.port() + "/upper-override/h2")).isEqualTo("200");
        assertThat(a.lastBody).asString().isEqualTo("AN H2 BODY");
        await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 2
            && processor.streams.get(0).end != null);
        assertThat(processor.streams.get(0).phases).startsWith(RequestCase.REQUEST_HEADERS)
            .contains(RequestCase.REQUEST_BODY, RequestCase.RESPONSE_BODY).doesNotContain(RequestCase.RESPONSE_HEADERS);
      }
      try (ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode, HEADERS_ONLY)) {
        HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upper-override/echo"))
            .POST(HttpRequest.BodyPublishers.ofString("override me")));
        assertThat(a.lastBody).asString().isEqualTo("override me");
        assertThat(r.body()).startsWith("POST /upper-override/echo\n");
      }
    }
  }

  /** allowed_override_modes: an override it does not list is ignored, one it lists applies. */
  @Test
  void allowedOverrideModesKeepsOnlyTheListedOverrides() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE, HEADERS_ONLY
            + "\nallow_mode_override: true\nallowed_override_modes:\n"
            + "- { response_header_mode: SKIP, response_body_mode: STREAMED }")) {
      HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upper-override/echo"))
          .POST(HttpRequest.BodyPublishers.ofString("both bodies")));
      assertThat(a.lastBody).asString().isEqualTo("both bodies"); // not listed (a STREAMED request body): ignored
      assertThat(r.body()).startsWith("POST /upper-override/echo\n");
      r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upper-override-response/echo"))
          .POST(HttpRequest.BodyPublishers.ofString("response only")));
      assertThat(a.lastBody).asString().isEqualTo("response only");
      assertThat(r.body()).startsWith("POST /UPPER-OVERRIDE-RESPONSE/ECHO\n");
    }
  }

  /** A response_headers answer's mode_override streams the response body the filter's mode does not send. */
  @Test
  void aResponseHeadersAnswerStreamsTheResponseBody() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
            "processing_mode: { request_header_mode: SEND, response_header_mode: SEND }\nallow_mode_override: true")) {
      HttpResponse<String> r = proxy.get("/upper-resp-override/echo");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-processed")).hasValue("processor");
      assertThat(r.body()).startsWith("GET /UPPER-RESP-OVERRIDE/ECHO\n");
      assertThat(CurlStatus.of("--http2-prior-knowledge",
          "http://127.0.0.1:" + proxy.port() + "/upper-resp-override/h2")).isEqualTo("200");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 2
          && processor.streams.get(1).end != null);
      assertThat(processor.streams.get(1).phases).startsWith(RequestCase.REQUEST_HEADERS, RequestCase.RESPONSE_HEADERS)
          .contains(RequestCase.RESPONSE_BODY);
    }
  }
}
