package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest.RequestCase;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One {@code ExternalProcessor/Process} stream per HTTP request, as Envoy keeps it, through a real proxy and a real
 * grpc-java processor ({@link GrpcProcessorServer}, which keeps per-stream state: the request's :path and its message
 * count): every phase of a request is a message on that request's stream, the next request gets its own, and the
 * stream ends with the exchange, also when the client leaves mid-request.
 */
class ExtProcStreamTest {
  private static final String ALL_PHASES = "processing_mode: { request_header_mode: SEND, response_header_mode: SEND, "
      + "request_body_mode: BUFFERED, response_body_mode: BUFFERED }";

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void allFourPhasesOfARequestAreMessagesOnOneStreamAndTheNextRequestGetsItsOwn(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode, ALL_PHASES)) {
      for (int i = 1; i <= 2; i++) {
        HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/resp-body-replace/" + i))
            .POST(HttpRequest.BodyPublishers.ofString("request " + i)));
        assertThat(r.statusCode()).isEqualTo(200);
        // the processor's third message on this request's stream was the response headers, answered by the
        // request's own :path (kept per stream)
        assertThat(r.headers().firstValue("x-stream-messages")).hasValue("3");
        assertThat(r.headers().firstValue("x-processed")).hasValue("processor");
        assertThat(r.body()).isEqualTo("a new response body");
        assertThat(a.lastBody).asString().isEqualTo("request " + i);
        int n = i;
        await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == n
            && processor.streams.get(n - 1).end != null);
        var stream = processor.streams.get(i - 1);
        assertThat(stream.phases).containsExactly(RequestCase.REQUEST_HEADERS, RequestCase.REQUEST_BODY,
            RequestCase.RESPONSE_HEADERS, RequestCase.RESPONSE_BODY);
      }
      assertThat(proxy.stat("http.ingress_http.ext_proc.streams_started")).isEqualTo(2);
      assertThat(proxy.stat("http.ingress_http.ext_proc.stream_msgs_sent")).isEqualTo(8);
      assertThat(proxy.stat("http.ingress_http.ext_proc.stream_msgs_received")).isEqualTo(8);
      await().atMost(10, TimeUnit.SECONDS)
          .until(() -> proxy.stat("http.ingress_http.ext_proc.streams_closed") == 2);
      // an HTTP/2 downstream (curl, h2c): the same, on a third stream
      String headers = io.keelson.dataplane.testing.CurlStatus.of("--http2-prior-knowledge", "-s", "-D", "-",
          "-o", "/dev/null", "--data", "request 3", "http://127.0.0.1:" + proxy.port() + "/resp-body-replace/3");
      assertThat(headers).startsWith("HTTP/2 200").contains("x-stream-messages: 3");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 3
          && processor.streams.get(2).end != null);
      assertThat(processor.streams.get(2).phases).containsExactly(RequestCase.REQUEST_HEADERS, RequestCase.REQUEST_BODY,
          RequestCase.RESPONSE_HEADERS, RequestCase.RESPONSE_BODY);
    }
  }

  /**
   * The stream stays open while its request runs (the upstream is slow: the request-headers answer came long before
   * the response), and ends, reaching the processor, when the client leaves; the processor cluster's only
   * max_requests slot is then free for the next request's stream.
   */
  @Test
  void theStreamLivesAsLongAsTheRequestAndEndsWhenTheClientLeaves() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer()) {
      try (ProxyHarness proxy = oneStreamAtATime(a, processor,
          "processing_mode: { request_header_mode: SEND, response_header_mode: SEND }\nmessage_timeout: 10s")) {
        try (java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
          client.getOutputStream().write("GET /delay/60000 HTTP/1.1\r\nHost: x\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
          await().atMost(10, TimeUnit.SECONDS).until(() -> a.requests.get() == 1); // past the request-headers phase
          assertThat(processor.streams).hasSize(1);
          assertThat(processor.streams.get(0).phases).containsExactly(RequestCase.REQUEST_HEADERS);
          assertThat(processor.streams.get(0).end).as("open while the request waits for its response").isNull();
        } // the client leaves while the upstream is still working
        await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.get(0).end != null);
        HttpResponse<String> next = proxy.get("/api/after");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.headers().firstValue("x-stream-messages")).hasValue("2");
        assertThat(processor.streams).hasSize(2);
        // an h2c client giving up (curl's 2 s budget) on a slow upstream: its stream's Process stream ends too
        assertThat(io.keelson.dataplane.testing.CurlStatus.of("--http2-prior-knowledge", "-m", "2",
            "http://127.0.0.1:" + proxy.port() + "/delay/60000")).endsWith("000");
        await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 3
            && processor.streams.get(2).end != null);
        assertThat(processor.streams.get(2).phases).containsExactly(RequestCase.REQUEST_HEADERS);
        assertThat(proxy.get("/api/last").statusCode()).isEqualTo(200); // the only max_requests slot is free again
      }
    }
  }

  /** A proxy whose processor cluster allows one request (one Process stream) at a time: max_requests 1. */
  static ProxyHarness oneStreamAtATime(TestUpstream a, GrpcProcessorServer processor, String filterExtra)
      throws Exception {
    return new ProxyHarness(ProxyHarness.bootstrap(ExtProcProxyTest.VHOSTS,
        ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()) + ProxyHarness.cluster("processor", "ROUND_ROBIN",
            processor.port()) + "    http2_protocol_options: {}\n    circuit_breakers: { thresholds: [ { max_requests: 1 } ] }\n",
        ExtProcProxyTest.filter(filterExtra)), PipelineMode.INLINE);
  }

  private static final String REROUTE_VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/", headers: [ { name: x-route-to, string_match: { exact: b } } ] }
          route: { cluster: b }
        - match: { prefix: "/" }
          route: { cluster: a }
      """.indent(12);

  /**
   * clear_route_cache on a request_headers answer that set a header the routes match on: the request is routed again
   * and goes to the other cluster (Java's HTTP/1.1 client and curl over h2c), as Envoy's router chooses the route after
   * its filters. Without it the route chosen before stands; with it but without a header mutation Envoy ignores it
   * (counted in clear_route_cache_ignored).
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void clearRouteCacheAfterAHeaderMutationRoutesTheRequestAgain(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b");
        GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(REROUTE_VHOSTS,
            ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()) + ProxyHarness.cluster("b", "ROUND_ROBIN", b.port())
                + ProxyHarness.cluster("processor", "ROUND_ROBIN", processor.port()) + "    http2_protocol_options: {}\n",
            ExtProcProxyTest.filter("message_timeout: 10s")), mode)) {
      assertThat(proxy.get("/reroute/h1").statusCode()).isEqualTo(200);
      assertThat(b.requestLines).containsExactly("GET /reroute/h1 HTTP/1.1");
      assertThat(b.lastHeaders).containsEntry("x-route-to", "b");
      assertThat(io.keelson.dataplane.testing.CurlStatus.of("--http2-prior-knowledge",
          "http://127.0.0.1:" + proxy.port() + "/reroute/h2")).isEqualTo("200");
      assertThat(b.requestLines).containsExactly("GET /reroute/h1 HTTP/1.1", "GET /reroute/h2 HTTP/1.1");
      assertThat(proxy.get("/reroute-kept").statusCode()).isEqualTo(200);
      assertThat(proxy.get("/reroute-unchanged").statusCode()).isEqualTo(200);
      assertThat(a.requestLines).containsExactly("GET /reroute-kept HTTP/1.1", "GET /reroute-unchanged HTTP/1.1");
      assertThat(a.lastHeaders).doesNotContainKey("x-route-to");
      assertThat(proxy.stat("http.ingress_http.ext_proc.clear_route_cache_ignored")).isEqualTo(1);
    }
  }

  /**
   * route_cache_action CLEAR routes a request again after any request_headers answer with a header mutation, asked or
   * not; RETAIN (and disable_clear_route_cache, its older spelling) never does, counting an ask in
   * clear_route_cache_disabled; both set is refused.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void routeCacheActionClearAndRetainOverrideTheAnswer(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b");
        GrpcProcessorServer processor = new GrpcProcessorServer()) {
      String clusters = ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()) + ProxyHarness.cluster("b", "ROUND_ROBIN",
          b.port()) + ProxyHarness.cluster("processor", "ROUND_ROBIN", processor.port()) + "    http2_protocol_options: {}\n";
      try (ProxyHarness clear = new ProxyHarness(ProxyHarness.bootstrap(REROUTE_VHOSTS, clusters,
          ExtProcProxyTest.filter("message_timeout: 10s\nroute_cache_action: CLEAR")), mode)) {
        assertThat(clear.get("/reroute-kept/clear").statusCode()).isEqualTo(200); // a mutation, no ask: routed again
        assertThat(b.requestLines).containsExactly("GET /reroute-kept/clear HTTP/1.1");
      }
      for (String retain : new String[] {"route_cache_action: RETAIN", "disable_clear_route_cache: true"}) {
        try (ProxyHarness kept = new ProxyHarness(ProxyHarness.bootstrap(REROUTE_VHOSTS, clusters,
            ExtProcProxyTest.filter("message_timeout: 10s\n" + retain)), mode)) {
          assertThat(io.keelson.dataplane.testing.CurlStatus.of("--http2-prior-knowledge",
              "http://127.0.0.1:" + kept.port() + "/reroute/retained")).isEqualTo("200");
          assertThat(kept.stat("http.ingress_http.ext_proc.clear_route_cache_disabled")).isEqualTo(1);
        }
      }
      assertThat(a.requestLines).containsExactly("GET /reroute/retained HTTP/1.1", "GET /reroute/retained HTTP/1.1");
      assertThat(b.requestLines).hasSize(1);
      assertThatThrownBy(() -> io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(ProxyHarness.bootstrap(
          REROUTE_VHOSTS, clusters, ExtProcProxyTest.filter("disable_clear_route_cache: true\nroute_cache_action: "
              + "CLEAR")), "test.yaml")).hasMessageContaining("route_cache_action").hasMessageContaining("only one of");
    }
  }

  /**
   * A processor asking for more time (override_message_timeout) within max_message_timeout gets it: its answer after
   * message_timeout still counts; over max_message_timeout the ask is ignored and the message times out (504).
   */
  @Test
  void overrideMessageTimeoutExtendsTheMessagesTimerUpToMaxMessageTimeout() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
            "message_timeout: 3s\nmax_message_timeout: 40s")) {
      processor.slowMillis = 6000; // twice message_timeout: a loaded machine's first stream still fits in it
      HttpResponse<String> r = proxy.get("/slow-override/granted");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-added", "processor");
      assertThat(proxy.stat("http.ingress_http.ext_proc.override_message_timeout_received")).isEqualTo(1);
      processor.overrideSeconds = 60; // over max_message_timeout
      assertThat(proxy.get("/slow-override/refused").statusCode()).isEqualTo(504);
      assertThat(proxy.stat("http.ingress_http.ext_proc.override_message_timeout_ignored")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_proc.message_timeouts")).isEqualTo(1);
    }
  }

  /**
   * A processor ending the stream with OK after the request-headers answer completes processing, as Envoy's
   * onGrpcClose: the response-headers phase is not sent and the response goes through unchanged.
   */
  @Test
  void aProcessorEndingTheStreamCompletesProcessingAndLaterPhasesAreNotSent() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
            "processing_mode: { request_header_mode: SEND, response_header_mode: SEND }")) {
      HttpResponse<String> r = proxy.get("/done-after-headers");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-added", "processor");
      assertThat(r.headers().firstValue("x-processed")).isEmpty();
      assertThat(r.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(processor.streams).hasSize(1);
      assertThat(processor.streams.get(0).phases).containsExactly(RequestCase.REQUEST_HEADERS);
      assertThat(proxy.stat("http.ingress_http.ext_proc.streams_failed")).isZero();
    }
  }
}
