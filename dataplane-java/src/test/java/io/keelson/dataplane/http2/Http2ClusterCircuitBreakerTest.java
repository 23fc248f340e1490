package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Envoy's circuit breakers for an HTTP/2 cluster, over real sockets with a slow h2c upstream that holds
 * every request until the test lets it answer: {@code max_requests} bounds concurrent streams,
 * {@code max_connections} bounds real upstream connections (not streams), and a stream that needs a
 * new connection beyond it waits as pending ({@code max_pending_requests}, then 503 {@code UO}) until a
 * stream on an existing connection ends. Both downstream paths: HTTP/1.1 clients (Http1OverHttp2) and
 * h2c clients (StreamProxy).
 */
class Http2ClusterCircuitBreakerTest {
  private EventLoopGroup group;
  private Channel server;
  /** TCP connections the proxy opened to the upstream. */
  private final AtomicInteger connections = new AtomicInteger();
  /** Streams (requests) that reached the upstream. */
  private final AtomicInteger streams = new AtomicInteger();
  /** Requests held unanswered, with their stream's context. */
  private final ConcurrentLinkedQueue<ChannelHandlerContext> held = new ConcurrentLinkedQueue<>();

  @BeforeEach
  void startUpstream() throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server = new io.netty.bootstrap.ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.incrementAndGet();
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(), new Http2MultiplexHandler(
                new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel s) {
                    s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpObjectAggregator(1 << 16),
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                          @Override
                          protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                            streams.incrementAndGet();
                            held.add(ctx);
                          }
                        });
                  }
                }));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  @AfterEach
  void stopUpstream() {
    server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** Answers the oldest held request 200 "ok". */
  private void answerOne() {
    ChannelHandlerContext ctx = held.poll();
    assertThat(ctx).as("a held request").isNotNull();
    ctx.executor().execute(() -> {
      var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
          Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII));
      HttpUtil.setContentLength(res, 2);
      ctx.writeAndFlush(res);
    });
  }

  /** @param thresholds the fields of the default-priority thresholds entry, e.g. {@code max_connections: 1} */
  private String bootstrap(String http2Options, String... thresholds) {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route:
                          cluster: c
                          timeout: 20s
        """;
    String cluster = ProxyHarness.cluster("c", "ROUND_ROBIN", port)
        .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: " + http2Options + "\n")
        + "    circuit_breakers:\n      thresholds:\n      - " + String.join("\n        ", thresholds) + "\n";
    return ProxyHarness.bootstrap(routes, cluster);
  }

  private static long stat(ProxyHarness proxy, String name) throws Exception {
    for (String line : proxy.admin("/stats").split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2).trim());
      }
    }
    return -1;
  }

  @Test
  void http11ClientsStreamsShareOneConnectionUpToMaxRequestsNotMaxConnections() throws Exception {
    // One event loop, so the three client connections share one upstream pool (pools are per loop, as Envoy's per worker).
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("{}", "max_connections: 1", "max_pending_requests: 1", "max_requests: 3"), PipelineMode.INLINE, 1)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        slow.add(http.sendAsync(HttpRequest.newBuilder(proxy.uri("/slow/" + i)).timeout(Duration.ofSeconds(20)).build(),
            HttpResponse.BodyHandlers.ofString()));
        int n = i + 1; // one at a time: while the connection is being set up a stream is pending (max_pending_requests 1)
        await().atMost(Duration.ofSeconds(10)).until(() -> streams.get() == n);
      }
      // Three streams on one connection: max_connections (1) counts the connection, not the streams.
      assertThat(connections.get()).isEqualTo(1);
      assertThat(stat(proxy, "cluster.c.upstream_cx_overflow")).isZero();

      // max_requests (3) is reached: the fourth gets 503 UO at once.
      HttpResponse<String> refused = http.send(HttpRequest.newBuilder(proxy.uri("/fourth")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.headers().firstValue("x-envoy-overloaded")).hasValue("true");
      assertThat(refused.body()).contains("overflow");
      assertThat(stat(proxy, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
      assertThat(proxy.admin("/stats/prometheus"))
          .containsPattern("istio_requests_total\\{[^}]*response_code=\"503\"[^}]*response_flags=\"UO\"");
      assertThat(streams.get()).isEqualTo(3);

      for (int i = 0; i < 3; i++) {
        answerOne();
      }
      for (CompletableFuture<HttpResponse<String>> f : slow) {
        assertThat(f.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_open") == 0);
      CompletableFuture<HttpResponse<String>> after = http.sendAsync(
          HttpRequest.newBuilder(proxy.uri("/after")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(10)).until(() -> streams.get() == 4);
      answerOne();
      assertThat(after.get(10, TimeUnit.SECONDS).statusCode()).as("nothing leaked").isEqualTo(200);
      assertThat(connections.get()).isEqualTo(1);
    }
  }

  @Test
  void aStreamNeedingASecondConnectionBeyondMaxConnectionsWaitsAsPendingForAStreamSlot() throws Exception {
    // One stream per connection (max_concurrent_streams: 1), one connection: the second stream must wait.
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("{ max_concurrent_streams: 1 }", "max_connections: 1", "max_pending_requests: 1"), PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      CompletableFuture<FullHttpResponse> first = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/1"));
      await().atMost(Duration.ofSeconds(10)).until(() -> streams.get() == 1);
      CompletableFuture<FullHttpResponse> second = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/2"));
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_pending_open") == 1);
      assertThat(stat(proxy, "cluster.c.upstream_cx_overflow")).isEqualTo(1);
      assertThat(connections.get()).as("no second connection beyond max_connections").isEqualTo(1);

      FullHttpResponse refused = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/3"))
          .get(10, TimeUnit.SECONDS);
      try {
        assertThat(refused.status().code()).as("max_pending_requests (1) is taken").isEqualTo(503);
        assertThat(refused.headers().get("x-envoy-overloaded")).isEqualTo("true");
      } finally {
        refused.release();
      }
      assertThat(stat(proxy, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
      assertThat(second).isNotDone();

      answerOne(); // the first stream ends: its slot goes to the waiting one, on the same connection
      FullHttpResponse r1 = first.get(10, TimeUnit.SECONDS);
      assertThat(r1.status().code()).isEqualTo(200);
      r1.release();
      await().atMost(Duration.ofSeconds(10)).until(() -> streams.get() == 2);
      answerOne();
      FullHttpResponse r2 = second.get(10, TimeUnit.SECONDS);
      assertThat(r2.status().code()).isEqualTo(200);
      r2.release();
      assertThat(connections.get()).isEqualTo(1);
      await().atMost(Duration.ofSeconds(5)).until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_pending_open") == 0);
    }
  }

  @Test
  void http11ClientsStreamNeedingASecondConnectionWaitsAsPendingToo() throws Exception {
    // One event loop: its pool's one connection is the cluster's only one.
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("{ max_concurrent_streams: 1 }", "max_connections: 1", "max_pending_requests: 1"), PipelineMode.INLINE, 1)) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      CompletableFuture<HttpResponse<String>> first = http.sendAsync(
          HttpRequest.newBuilder(proxy.uri("/1")).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(10)).until(() -> streams.get() == 1);
      CompletableFuture<HttpResponse<String>> second = http.sendAsync(
          HttpRequest.newBuilder(proxy.uri("/2")).timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_pending_open") == 1);
      assertThat(stat(proxy, "cluster.c.upstream_cx_overflow")).isEqualTo(1);
      HttpResponse<String> refused = http.send(HttpRequest.newBuilder(proxy.uri("/3")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.headers().firstValue("x-envoy-overloaded")).hasValue("true");
      answerOne();
      assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> streams.get() == 2);
      answerOne();
      assertThat(second.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(connections.get()).isEqualTo(1);
    }
  }
}
