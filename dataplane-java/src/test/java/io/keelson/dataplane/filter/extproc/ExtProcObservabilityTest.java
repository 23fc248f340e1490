package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest.RequestCase;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * ext_proc {@code observability_mode: true} through a real proxy and a real grpc-java processor
 * ({@link GrpcProcessorServer}): every phase is sent and the exchange goes on without waiting (a processor that never
 * answers within message_timeout fails nothing), its answers are ignored, BUFFERED bodies are not sent (as Envoy
 * ignores them in this mode), and the stream, half-closed with the exchange, is reset after deferred_close_timeout (3 s: a loaded machine's
 * processor must have read the messages by then).
 */
class ExtProcObservabilityTest {
  private static final String OBSERVED = "observability_mode: true\nmessage_timeout: 0.2s\n"
      + "deferred_close_timeout: 3s\nprocessing_mode: { request_header_mode: SEND, response_header_mode: SEND, "
      + "request_body_mode: BUFFERED }";

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void phasesAreSentWithoutWaitingAndAnswersAreIgnored(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode, OBSERVED)) {
      processor.slowMillis = 60_000; // far past message_timeout: without observability_mode a 504
      // the processor's answer to an ordinary request (x-added, x-drop removed) changes nothing
      assertThat(proxy.get("/api/items", "X-Drop", "kept").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-drop", "kept").doesNotContainKey("x-added");
      HttpResponse<String> r = proxy.get("/slow/items", "X-Drop", "kept");
      assertThat(r.statusCode()).isEqualTo(200);
      // an h2c client (curl): the same
      assertThat(CurlStatus.of("--http2-prior-knowledge", "--data", "body", "-H", "X-Drop: kept",
          "http://127.0.0.1:" + proxy.port() + "/api/h2")).isEqualTo("200");
      assertThat(a.lastHeaders).containsEntry("x-drop", "kept").doesNotContainKey("x-added");
      await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> assertThat(processor.streams)
          .extracting(s -> s.phases.size()).containsExactly(2, 2, 2));
      for (var s : processor.streams) { // the BUFFERED request body is not sent
        assertThat(s.phases).containsExactly(RequestCase.REQUEST_HEADERS, RequestCase.RESPONSE_HEADERS);
      }
      // the slow request's stream, which its processor never answered nor ended, is reset after
      // deferred_close_timeout (the other two end when the processor completes its side)
      await().atMost(30, TimeUnit.SECONDS)
          .until(() -> proxy.stat("http.ingress_http.ext_proc.streams_closed") == 3);
      assertThat(proxy.stat("http.ingress_http.ext_proc.message_timeouts")).isZero();
    }
  }
}
