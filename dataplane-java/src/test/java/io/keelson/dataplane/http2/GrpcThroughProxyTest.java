package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** grpc-java client and server, with Keelson between them (h2c both sides). */
class GrpcThroughProxyTest {
  private GrpcEcho server;
  private ProxyHarness proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server = new GrpcEcho();
    int deadPort = TestUpstream.closedPort();
    String vhosts = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/test.Echo/", headers: [{ name: x-legacy, present_match: true }], grpc: {} }
                        route: { cluster: legacy }
                      - match: { prefix: "/test.Echo/", grpc: {} }
                        route: { cluster: grpc }
                      - match: { prefix: "/dead.Service/" }
                        route: { cluster: dead }
        """;
    String clusters = h2Cluster("grpc", server.port(), """
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                explicit_http_config:
                  http2_protocol_options: { max_concurrent_streams: 50 }
        """)
        + h2Cluster("legacy", server.port(), "    http2_protocol_options: {}\n")
        + h2Cluster("dead", deadPort, "    http2_protocol_options: {}\n");
    proxy = new ProxyHarness(ProxyHarness.bootstrap(vhosts, clusters), PipelineMode.INLINE);
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(), InsecureChannelCredentials.create()).build();
  }

  private static String h2Cluster(String name, int port, String options) {
    return ProxyHarness.cluster(name, "ROUND_ROBIN", port).replace("    type: STATIC\n", "    type: STATIC\n" + options);
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    proxy.close();
    server.close();
  }

  private CallOptions deadline(long ms) {
    return CallOptions.DEFAULT.withDeadlineAfter(ms, TimeUnit.MILLISECONDS);
  }

  @Test
  void unaryAndAllThreeStreamingKindsPassThrough() throws Exception {
    assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline(10_000), "hello")).isEqualTo("hello");

    List<String> counted = new ArrayList<>();
    Iterator<String> it = ClientCalls.blockingServerStreamingCall(channel, GrpcEcho.COUNT, deadline(10_000), "5");
    it.forEachRemaining(counted::add);
    assertThat(counted).containsExactly("0", "1", "2", "3", "4");

    CompletableFuture<String> joined = new CompletableFuture<>();
    StreamObserver<String> join = ClientCalls.asyncClientStreamingCall(channel.newCall(GrpcEcho.JOIN, deadline(10_000)), observer(joined, null));
    join.onNext("a");
    join.onNext("b");
    join.onNext("c");
    join.onCompleted();
    assertThat(joined.get(10, TimeUnit.SECONDS)).isEqualTo("a,b,c");

    LinkedBlockingQueue<String> echoes = new LinkedBlockingQueue<>();
    CompletableFuture<String> chatDone = new CompletableFuture<>();
    StreamObserver<String> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(GrpcEcho.CHAT, deadline(10_000)), observer(chatDone, echoes));
    for (int i = 0; i < 3; i++) {
      chat.onNext("m" + i);
      assertThat(echoes.poll(10, TimeUnit.SECONDS)).isEqualTo("echo m" + i); // each answer before the next message
    }
    chat.onCompleted();
    chatDone.get(10, TimeUnit.SECONDS);
  }

  @Test
  void theLegacyClusterHttp2FieldAlsoSelectsHttp2() {
    var c = channel.newCall(GrpcEcho.UNARY, deadline(10_000));
    var withHeader = io.grpc.ClientInterceptors.intercept(channel, io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(legacyHeader()));
    assertThat(ClientCalls.blockingUnaryCall(withHeader, GrpcEcho.UNARY, deadline(10_000), "via legacy")).isEqualTo("via legacy");
    c.cancel("unused", null);
  }

  private static io.grpc.Metadata legacyHeader() {
    io.grpc.Metadata m = new io.grpc.Metadata();
    m.put(io.grpc.Metadata.Key.of("x-legacy", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "1");
    return m;
  }

  @Test
  void upstreamStatusAndMessageArriveInTrailers() {
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline(10_000), "fail:no such thing ✓"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getStatus().getDescription()).isEqualTo("no such thing ✓");
        });
  }

  @Test
  void proxyFailuresAreAnsweredTheGrpcWay() {
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.MISSING, deadline(10_000), "x"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.DEAD, deadline(10_000), "x"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void grpcTimeoutHeaderIsTheProxysDeadline() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      var request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/test.Echo/Unary",
          io.netty.buffer.Unpooled.wrappedBuffer(frame("sleep:5000")));
      request.headers().set("content-type", "application/grpc").set("te", "trailers").set("grpc-timeout", "300m");
      long start = System.nanoTime();
      FullHttpResponse r = client.send(request).get(10, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).isEqualTo("application/grpc");
      assertThat(r.headers().get("grpc-status")).isEqualTo("4");
      r.release();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> server.cancelled.get() >= 1); // the upstream stream was reset
  }

  @Test
  void deadlineExceededOnTheClientCancelsTheUpstreamCall() {
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline(300), "sleep:5000"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    await().atMost(Duration.ofSeconds(10)).until(() -> server.cancelled.get() >= 1);
  }

  @Test
  void clientCancellationResetsTheUpstreamStream() throws Exception {
    LinkedBlockingQueue<String> ticks = new LinkedBlockingQueue<>();
    var call = channel.newCall(GrpcEcho.COUNT, deadline(30_000));
    ClientCalls.asyncServerStreamingCall(call, "forever", observer(new CompletableFuture<>(), ticks));
    assertThat(ticks.poll(10, TimeUnit.SECONDS)).isEqualTo("tick 0");
    assertThat(ticks.poll(10, TimeUnit.SECONDS)).isEqualTo("tick 1");
    call.cancel("the client changed its mind", null);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.cancelled.get() == 1);
  }

  @Test
  void hundredsOfConcurrentCallsShareOneDownstreamConnection() throws Exception {
    List<CompletableFuture<String>> all = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      ClientCalls.asyncUnaryCall(channel.newCall(GrpcEcho.UNARY, deadline(30_000)), "call " + i, observer(f, null));
      all.add(f);
    }
    for (int i = 0; i < all.size(); i++) {
      assertThat(all.get(i).get(30, TimeUnit.SECONDS)).isEqualTo("call " + i);
    }
    assertThat(server.calls.get()).isEqualTo(300);
  }

  @Test
  void aGrpcRouteDoesNotMatchPlainHttp() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/test.Echo/Unary"))
          .get(10, TimeUnit.SECONDS);
      assertThat(r.status().code()).isEqualTo(404);
      r.release();
    }
  }

  @Test
  void anHttp1ClientReachesAnHttp2ClusterWithTrailersAsChunkedTrailers() throws Exception {
    byte[] body = frame("over h1");
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxy.port())) {
      s.setSoTimeout(10_000);
      String head = "POST /test.Echo/Unary HTTP/1.1\r\nhost: grpc.local\r\ncontent-type: application/grpc\r\n"
          + "te: trailers\r\ncontent-length: " + body.length + "\r\n\r\n";
      s.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().write(body);
      s.getOutputStream().flush();
      StringBuilder got = new StringBuilder();
      byte[] buf = new byte[4096];
      while (!got.toString().contains("grpc-status: 0\r\n\r\n")) {
        int n = s.getInputStream().read(buf);
        assertThat(n).as("response so far: %s", got).isPositive();
        got.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
      }
      String response = got.toString();
      assertThat(response).startsWith("HTTP/1.1 200").contains("transfer-encoding: chunked").contains("over h1")
          .doesNotContain("connection: close");
    }
  }

  /** A gRPC length-prefixed message. */
  static byte[] frame(String message) {
    byte[] m = message.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] out = new byte[5 + m.length];
    out[1] = (byte) (m.length >>> 24);
    out[2] = (byte) (m.length >>> 16);
    out[3] = (byte) (m.length >>> 8);
    out[4] = (byte) m.length;
    System.arraycopy(m, 0, out, 5, m.length);
    return out;
  }

  private static StreamObserver<String> observer(CompletableFuture<String> done, LinkedBlockingQueue<String> each) {
    return new StreamObserver<>() {
      private String last;

      @Override
      public void onNext(String value) {
        last = value;
        if (each != null) {
          each.add(value);
        }
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        done.complete(last);
      }
    };
  }
}
