package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest.RequestCase;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * ext_proc STREAMED bodies through a real proxy and a real grpc-java processor ({@link GrpcProcessorServer}, which
 * upper-cases each body chunk of an {@code /upper...} request, {@code /upper-slow} after a pause per chunk): each chunk
 * is a body message on the request's Process stream, answered chunk by chunk, the upstream (or the client) getting
 * the transformed body, re-framed as it may change size; a large body flows with only a bounded part of it in the
 * proxy (the client's reads are paused while the processor is behind); a client leaving mid-body ends the stream.
 */
class ExtProcStreamedBodyTest {
  private static final String STREAMED_REQUEST = "processing_mode: { request_header_mode: SEND, "
      + "response_header_mode: SKIP, request_body_mode: STREAMED }";
  private static final String STREAMED_RESPONSE = "processing_mode: { request_header_mode: SEND, "
      + "response_header_mode: SKIP, response_body_mode: STREAMED }";

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aStreamedRequestBodyReachesTheUpstreamAsTheProcessorChangedEachChunk(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), mode, STREAMED_REQUEST)) {
      // chunked (Java's client, a body of unknown length)
      HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upper/chunked")).POST(
          HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
              "a chunked body, streamed".getBytes(StandardCharsets.UTF_8)))));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastBody).asString().isEqualTo("A CHUNKED BODY, STREAMED");
      assertThat(a.lastHeaders).containsEntry("transfer-encoding", "chunked").doesNotContainKey("content-length");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
          && processor.streams.get(0).end != null);
      var phases = processor.streams.get(0).phases;
      assertThat(phases.get(0)).isEqualTo(RequestCase.REQUEST_HEADERS);
      assertThat(phases.subList(1, phases.size())).isNotEmpty().containsOnly(RequestCase.REQUEST_BODY);
      ProcessingRequest last = processor.requests.get(processor.requests.size() - 1);
      assertThat(last.getRequestBody().getEndOfStream()).isTrue();
      // a content-length body: its length may change, so it goes on chunked
      r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upper/length"))
          .POST(HttpRequest.BodyPublishers.ofString("sized body")));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastBody).asString().isEqualTo("SIZED BODY");
      assertThat(a.lastHeaders).doesNotContainKey("content-length");
      // an HTTP/2 downstream (curl, h2c): DATA frames through the processor too
      assertThat(CurlStatus.of("--http2-prior-knowledge", "--data-binary", "an h2 body",
          "http://127.0.0.1:" + proxy.port() + "/upper/h2")).isEqualTo("200");
      assertThat(a.lastBody).asString().isEqualTo("AN H2 BODY");
      assertThat(proxy.stat("http.ingress_http.ext_proc.streams_started")).isEqualTo(3);
    }
  }

  /**
   * 32 MB for a processor that holds its answers: the client gets only as far as the bytes in flight (at most 64 KiB
   * in the proxy) and the sockets' buffers, as the proxy stops reading it (no unbounded queue); once the processor
   * answers, the whole body flows, chunk by chunk, to the upstream.
   */
  @Test
  void aLargeBodyIsReadOnlyAsFastAsTheProcessorAnswers() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
            STREAMED_REQUEST + "\nmessage_timeout: 60s");
        Socket client = new Socket()) {
      long total = 32L << 20;
      client.setSendBufferSize(64 * 1024);
      client.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
      client.setSoTimeout(120_000);
      OutputStream out = client.getOutputStream();
      AtomicLong sent = new AtomicLong();
      Thread writer = Thread.ofPlatform().daemon().start(() -> {
        try {
          out.write(("POST /upper-gated/big HTTP/1.1\r\nHost: x\r\ncontent-length: " + total + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          byte[] block = new byte[16 * 1024];
          Arrays.fill(block, (byte) 'q');
          while (sent.get() < total) {
            out.write(block);
            sent.addAndGet(block.length);
          }
          out.flush();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      await().atMost(20, TimeUnit.SECONDS).until(() -> processor.bodyBytesSeen.get() > 0);
      long[] last = {-1};
      await().atMost(30, TimeUnit.SECONDS).pollInterval(java.time.Duration.ofMillis(1500))
          .until(() -> { long now = sent.get(); boolean still = now == last[0]; last[0] = now; return still; });
      assertThat(sent.get()).as("what the client could send while the processor held its answers")
          .isLessThan(total / 2);
      assertThat(processor.bodyBytesSeen.get()).isLessThanOrEqualTo(StreamedBodyExchange.MAX_IN_FLIGHT_BYTES + 256 * 1024);
      processor.openGate();
      writer.join(60_000);
      assertThat(sent.get()).isEqualTo(total);
      String status = new String(client.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      assertThat(status).isEqualTo("HTTP/1.1 200");
      assertThat(a.bodyBytesRead.get()).isEqualTo(total);
      assertThat(new String(a.lastBody, StandardCharsets.US_ASCII)).matches("Q+");
      assertThat(processor.streams.get(0).phases.stream().filter(p -> p == RequestCase.REQUEST_BODY).count())
          .as("chunk messages").isGreaterThan(64);
    }
  }

  /**
   * The head and the first MiB in one write (the body is there while the request is routed, so the pause comes before
   * the upstream connection, whose writability would resume reading), then up to 64 MiB, to a processor holding its
   * answers: the client stalls with a bounded part of the body out.
   */
  @Test
  void aBodyArrivingWithItsHeadIsStillReadOnlyAsFastAsTheProcessorAnswers() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
            STREAMED_REQUEST + "\nmessage_timeout: 60s");
        io.keelson.dataplane.testing.UploadFlood flood =
            io.keelson.dataplane.testing.UploadFlood.http1(proxy.port(), "/upper-gated/flood", 64L << 20)) {
      await().atMost(20, TimeUnit.SECONDS).until(() -> processor.bodyBytesSeen.get() > 0);
      assertThat(flood.settled()).as("bytes the client got to send").isLessThan(8L << 20);
      assertThat(processor.bodyBytesSeen.get()).isLessThanOrEqualTo(StreamedBodyExchange.MAX_IN_FLIGHT_BYTES + 256 * 1024);
    }
  }

  @Test
  void aStreamedResponseBodyReachesTheClientAsTheProcessorChangedEachChunk() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE, STREAMED_RESPONSE)) {
      HttpResponse<String> r = proxy.get("/upper/echo");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).startsWith("GET /UPPER/ECHO\n").contains("BODY-BYTES: 0");
      // 2 MB of a chunked upstream response through a processor answering each chunk after a pause; h2c too
      r = proxy.get("/big/2000000", "x-processor", "/upper-slow");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).hasSize(2_000_000).matches("X+");
      assertThat(CurlStatus.of("--http2-prior-knowledge", "-H", "x-processor: /upper",
          "http://127.0.0.1:" + proxy.port() + "/big/100000")).isEqualTo("200");
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 3
          && processor.streams.get(2).end != null);
      assertThat(processor.streams.get(1).phases.stream().filter(p -> p == RequestCase.RESPONSE_BODY).count())
          .isGreaterThan(8);
      assertThat(processor.streams.get(2).phases).contains(RequestCase.RESPONSE_BODY);
    }
    // with the response-headers phase too: the head is held for its answer, then the body streams
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
            STREAMED_RESPONSE.replace("response_header_mode: SKIP", "response_header_mode: SEND"))) {
      HttpResponse<String> r = proxy.get("/big/300000", "x-processor", "/upper");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-processed")).hasValue("processor");
      assertThat(r.body()).hasSize(300_000).matches("X+");
      assertThat(processor.streams.get(0).phases.subList(0, 3)).containsExactly(RequestCase.REQUEST_HEADERS,
          RequestCase.RESPONSE_HEADERS, RequestCase.RESPONSE_BODY);
    }
  }

  /**
   * A client leaving mid-body (HTTP/1.1 socket closed, then an h2c one cut by curl's budget) ends the Process stream
   * and frees the processor cluster's only max_requests slot.
   */
  @Test
  void aClientLeavingMidBodyEndsTheStreamAndFreesItsSlot() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer()) {
      try (ProxyHarness proxy = ExtProcStreamTest.oneStreamAtATime(a, processor,
          STREAMED_REQUEST + "\nmessage_timeout: 10s")) {
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
          client.getOutputStream().write(("POST /upper/partial HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n"
              + "\r\n5\r\nhello\r\n").getBytes(StandardCharsets.US_ASCII));
          await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
              && processor.streams.get(0).phases.contains(RequestCase.REQUEST_BODY));
          assertThat(processor.streams.get(0).end).isNull();
        } // gone mid-body
        await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.get(0).end != null);
        assertThat(proxy.send(HttpRequest.newBuilder(proxy.uri("/upper/after"))
            .POST(HttpRequest.BodyPublishers.ofString("next"))).statusCode()).isEqualTo(200);
        assertThat(a.lastBody).asString().isEqualTo("NEXT");
        // an h2c upload curl gives up on after 2 s (its stream reset mid-body)
        assertThat(CurlStatus.of("--http2-prior-knowledge", "-m", "2", "--limit-rate", "8k", "-T", "/dev/zero",
            "http://127.0.0.1:" + proxy.port() + "/upper/h2-partial")).endsWith("000");
        await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 3
            && processor.streams.get(2).end != null);
        assertThat(processor.streams.get(2).phases).contains(RequestCase.REQUEST_BODY);
        assertThat(proxy.send(HttpRequest.newBuilder(proxy.uri("/upper/last"))
            .POST(HttpRequest.BodyPublishers.ofString("last"))).statusCode()).isEqualTo(200);
        assertThat(a.lastBody).asString().isEqualTo("LAST");
      }
    }
  }

  /**
   * A chunk not answered within message_timeout fails the request as a headers phase does: 504 before any response,
   * or with failure_mode_allow the body goes on unchanged (HTTP/1.1 and h2c).
   */
  @Test
  void aChunkNotAnsweredWithinMessageTimeoutIs504OrGoesOnUnchangedWithFailureModeAllow() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer()) {
      try (ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
          STREAMED_REQUEST + "\nmessage_timeout: 2s")) {
        assertThat(proxy.send(HttpRequest.newBuilder(proxy.uri("/upper-gated/timeout"))
            .POST(HttpRequest.BodyPublishers.ofString("never answered"))).statusCode()).isEqualTo(504);
        assertThat(CurlStatus.of("--http2-prior-knowledge", "--data-binary", "never answered",
            "http://127.0.0.1:" + proxy.port() + "/upper-gated/h2")).isEqualTo("504");
        assertThat(proxy.stat("http.ingress_http.ext_proc.message_timeouts")).isEqualTo(2);
        assertThat(a.lastBody).asString().doesNotContain("answered"); // the upstream request was dropped mid-body
      }
      try (ProxyHarness proxy = ExtProcProxyTest.proxy(a, processor.port(), PipelineMode.INLINE,
          STREAMED_REQUEST + "\nmessage_timeout: 2s\nfailure_mode_allow: true")) {
        assertThat(proxy.send(HttpRequest.newBuilder(proxy.uri("/upper-gated/allowed"))
            .POST(HttpRequest.BodyPublishers.ofString("kept as sent"))).statusCode()).isEqualTo(200);
        assertThat(a.lastBody).asString().isEqualTo("kept as sent");
        assertThat(proxy.stat("http.ingress_http.ext_proc.failure_mode_allowed")).isEqualTo(1);
      }
    }
  }
}
