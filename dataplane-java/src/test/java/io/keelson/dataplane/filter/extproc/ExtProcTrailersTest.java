package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest.RequestCase;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.keelson.dataplane.http2.GrpcEcho;
import io.keelson.dataplane.http2.H2Client;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * ext_proc {@code request_trailer_mode} / {@code response_trailer_mode: SEND} through a real proxy, a real grpc-java
 * processor ({@link GrpcProcessorServer}) and real peers: the processor gets the message's trailers in a
 * {@code request_trailers} / {@code response_trailers} message and its header mutation, under Envoy's default mutation
 * rules, changes them before they go on.
 */
class ExtProcTrailersTest {
  private static final String GRPC_ROUTES = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: grpc }
      """.indent(12);

  /**
   * A gRPC call (grpc-java client and server, h2c both sides): the processor sees the response's grpc-status trailer
   * and the trailer it adds reaches the client with the call's status intact; a forbidden x-envoy-* one is refused and
   * counted.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aGrpcCallsTrailersReachTheProcessorAndItsAddedTrailerReachesTheClient(PipelineMode mode) throws Exception {
    try (GrpcEcho backend = new GrpcEcho(); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = grpcProxy(backend, processor, mode, "response_trailer_mode: SEND")) {
      Metadata trailers = unaryCall(proxy);
      assertThat(trailers.get(key("x-processor-saw-status"))).isEqualTo("0");
      assertThat(trailers.get(key("x-trailer-added"))).isEqualTo("processor");
      assertThat(trailers.get(key("x-envoy-trailer"))).isNull();
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
          && processor.streams.get(0).end != null);
      assertThat(processor.streams.get(0).phases).containsExactly(RequestCase.RESPONSE_TRAILERS);
      ProcessingRequest sent = processor.requests.get(0);
      assertThat(sent.getResponseTrailers().getTrailers().getHeadersList())
          .anySatisfy(h -> assertThat(h.getKey()).isEqualTo("grpc-status"));
      assertThat(proxy.stat("http.ingress_http.ext_proc.rejected_header_mutations")).isEqualTo(1);
    }
  }

  /**
   * An HTTP/1.1 chunked upload's trailers: the processor gets them in a request_trailers message, and the upstream sees
   * them as the processor changed them (one added, one removed, the client's own kept).
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void chunkedRequestTrailersReachTheUpstreamAsTheProcessorChangedThem(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode,
            "processing_mode: { request_header_mode: SKIP, response_header_mode: SKIP, request_trailer_mode: SEND }");
        RawHttp client = new RawHttp(proxy.port())) {
      client.send("POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n0\r\nx-client-trailer: c\r\nx-drop-trailer: d\r\n\r\n");
      assertThat(client.read().status()).isEqualTo(200);
      assertThat(a.lastBody).asString().isEqualTo("hello");
      assertThat(a.lastTrailers).containsEntry("x-client-trailer", "c")
          .containsEntry("x-request-trailer-added", "processor").doesNotContainKey("x-drop-trailer");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
          && processor.streams.get(0).end != null);
      assertThat(processor.streams.get(0).phases).containsExactly(RequestCase.REQUEST_TRAILERS);
      // without trailers, no trailers phase is sent (as Envoy): the request goes on untouched
      client.send("POST /api/plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "2\r\nhi\r\n0\r\n\r\n");
      assertThat(client.read().status()).isEqualTo(200);
      assertThat(processor.streams).hasSize(1);
    }
  }

  /**
   * An HTTP/1.1 upstream's chunked trailers reach the processor in a response_trailers message, and the client sees
   * them as it changed them: over HTTP/1.1 (chunked trailers) and over h2c (a trailing HEADERS frame), with curl.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void responseTrailersReachTheClientAsTheProcessorChangedThem(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode,
            "processing_mode: { request_header_mode: SKIP, response_header_mode: SKIP, response_trailer_mode: SEND }")) {
      String url = "http://127.0.0.1:" + proxy.port() + "/with-trailers";
      for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
        String dump = io.keelson.dataplane.testing.CurlStatus.of(version, "-H", "TE: trailers", "-D", "-", url);
        assertThat(dump).as(version).contains("x-upstream-trailer: a").contains("x-trailer-added: processor")
            .contains("x-processor-saw-status: none").doesNotContain("x-drop-trailer").endsWith("200");
      }
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 2
          && processor.streams.get(1).end != null);
      assertThat(processor.streams.get(0).phases).containsExactly(RequestCase.RESPONSE_TRAILERS);
      assertThat(processor.streams.get(1).phases).containsExactly(RequestCase.RESPONSE_TRAILERS);
    }
  }

  /**
   * A STREAMED request body whose end carries trailers (an HTTP/1.1 chunked upload): as Envoy, every body message has
   * end_of_stream false and the request_trailers message is the request's end (no empty end_of_stream body message);
   * the backend gets the body and the trailers as the processor left them.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aStreamedRequestBodyBeforeTrailersNeverSaysEndOfStream(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode,
            "processing_mode: { request_header_mode: SKIP, response_header_mode: SKIP, request_body_mode: STREAMED, "
                + "request_trailer_mode: SEND }");
        RawHttp client = new RawHttp(proxy.port())) {
      client.send("POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n6\r\n world\r\n0\r\nx-client-trailer: c\r\nx-drop-trailer: d\r\n\r\n");
      assertThat(client.read().status()).isEqualTo(200);
      assertThat(a.lastBody).asString().isEqualTo("hello world");
      assertThat(a.lastTrailers).containsEntry("x-client-trailer", "c")
          .containsEntry("x-request-trailer-added", "processor").doesNotContainKey("x-drop-trailer");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
          && processor.streams.get(0).end != null);
      List<RequestCase> phases = processor.streams.get(0).phases;
      assertThat(phases.get(phases.size() - 1)).isEqualTo(RequestCase.REQUEST_TRAILERS);
      assertThat(phases.subList(0, phases.size() - 1)).isNotEmpty().containsOnly(RequestCase.REQUEST_BODY);
      assertThat(processor.requests).filteredOn(ProcessingRequest::hasRequestBody)
          .allSatisfy(r -> assertThat(r.getRequestBody().getEndOfStream()).isFalse());
    }
  }

  /**
   * A gRPC call's STREAMED response body (h2c both sides): its DATA goes with end_of_stream false and the
   * response_trailers message (grpc-status) ends the response, as Envoy; the client gets its answer and the
   * processor's trailer (before, the upstream stream's close after the held end reset the client's).
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aGrpcResponsesStreamedBodyEndsWithItsTrailersMessage(PipelineMode mode) throws Exception {
    try (GrpcEcho backend = new GrpcEcho(); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = grpcProxy(backend, processor, mode,
            "response_body_mode: STREAMED, response_trailer_mode: SEND")) {
      assertThat(unaryCall(proxy).get(key("x-processor-saw-status"))).isEqualTo("0");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
          && processor.streams.get(0).end != null);
      List<RequestCase> phases = processor.streams.get(0).phases;
      assertThat(phases.get(phases.size() - 1)).isEqualTo(RequestCase.RESPONSE_TRAILERS);
      assertThat(phases.subList(0, phases.size() - 1)).isNotEmpty().containsOnly(RequestCase.RESPONSE_BODY);
      assertThat(processor.requests).filteredOn(ProcessingRequest::hasResponseBody)
          .allSatisfy(r -> assertThat(r.getResponseBody().getEndOfStream()).isFalse());
    }
  }

  /**
   * A request that ended while it was routed (its request_headers answer awaited) is mirrored with the trailers the
   * processor returned, not the client's: the shadow gets what the primary gets.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aMirrorGetsTheTrailersTheProcessorReturned(PipelineMode mode) throws Exception {
    String routes = """
        - name: main
          domains: ["*"]
          routes:
          - match: { prefix: "/" }
            route:
              cluster: a
              request_mirror_policies:
              - cluster: shadow
        """.indent(12);
    try (TestUpstream a = new TestUpstream("a"); TestUpstream shadow = new TestUpstream("shadow");
        GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes,
            ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()) + ProxyHarness.cluster("shadow", "ROUND_ROBIN",
                shadow.port()) + h2Cluster("processor", processor.port()),
            ExtProcProxyTest.filter("processing_mode: { request_header_mode: SEND, response_header_mode: SKIP, "
                + "request_trailer_mode: SEND }\nmessage_timeout: 10s")), mode);
        RawHttp client = new RawHttp(proxy.port())) {
      client.send("POST /api/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n0\r\nx-client-trailer: c\r\nx-drop-trailer: d\r\n\r\n");
      assertThat(client.read().status()).isEqualTo(200);
      assertThat(a.lastTrailers).containsEntry("x-request-trailer-added", "processor").doesNotContainKey("x-drop-trailer");
      await().atMost(10, TimeUnit.SECONDS).until(() -> shadow.requests.get() == 1 && shadow.lastTrailers != null
          && !shadow.lastTrailers.isEmpty());
      assertThat(shadow.lastBody).asString().isEqualTo("hello");
      assertThat(shadow.lastTrailers).containsEntry("x-client-trailer", "c")
          .containsEntry("x-request-trailer-added", "processor").doesNotContainKey("x-drop-trailer");
      // HTTP/2 (h2c): the trailing HEADERS frame, read while routing, reaches the mirror as checked too
      try (H2Client h2 = new H2Client(proxy.port())) {
        var upload = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/api/h2-upload",
            Unpooled.copiedBuffer("hello h2", StandardCharsets.UTF_8));
        upload.trailingHeaders().set("x-client-trailer", "c2").set("x-drop-trailer", "d");
        FullHttpResponse r = h2.send(upload).get(20, TimeUnit.SECONDS);
        assertThat(r.status().code()).isEqualTo(200);
        r.release();
      }
      await().atMost(10, TimeUnit.SECONDS).until(() -> shadow.requests.get() == 2
          && "hello h2".equals(new String(shadow.lastBody, StandardCharsets.UTF_8)) && !shadow.lastTrailers.isEmpty());
      assertThat(shadow.lastTrailers).containsEntry("x-client-trailer", "c2")
          .containsEntry("x-request-trailer-added", "processor").doesNotContainKey("x-drop-trailer");
    }
  }

  /** A proxy routing to the gRPC {@code backend} with ext_proc sending {@code modes} (header modes SKIP). */
  private static ProxyHarness grpcProxy(GrpcEcho backend, GrpcProcessorServer processor, PipelineMode mode,
      String modes) throws Exception {
    return new ProxyHarness(ProxyHarness.bootstrap(GRPC_ROUTES,
        h2Cluster("grpc", backend.port()) + h2Cluster("processor", processor.port()),
        ExtProcProxyTest.filter("processing_mode: { request_header_mode: SKIP, response_header_mode: SKIP, " + modes
            + " }\nmessage_timeout: 10s")), mode);
  }

  /** A grpc-java unary call through {@code proxy} (echoed "hello"); its trailers. */
  private static Metadata unaryCall(ProxyHarness proxy) throws Exception {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
        InsecureChannelCredentials.create()).build();
    try {
      AtomicReference<Metadata> headers = new AtomicReference<>();
      AtomicReference<Metadata> trailers = new AtomicReference<>();
      var captured = ClientInterceptors.intercept(channel, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
      assertThat(ClientCalls.blockingUnaryCall(captured, GrpcEcho.UNARY,
          CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), "hello")).isEqualTo("hello");
      return trailers.get();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Metadata.Key<String> key(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  static String h2Cluster(String name, int port) {
    return ProxyHarness.cluster(name, "ROUND_ROBIN", port) + "    http2_protocol_options: {}\n";
  }
}
