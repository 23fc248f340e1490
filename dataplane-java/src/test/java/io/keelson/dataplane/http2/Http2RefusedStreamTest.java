package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An HTTP/2 upstream that refuses streams (RST_STREAM REFUSED_STREAM) before answering, behind an
 * h2c client stream or an HTTP/1.1 client's request (Http1OverHttp2): retried under
 * {@code retry_on: refused-stream}, else Envoy's 503 with flag UR.
 */
class Http2RefusedStreamTest {
  private EventLoopGroup group;
  private Channel server;
  /** Streams opened by the proxy on the upstream. */
  private final AtomicInteger streams = new AtomicInteger();
  /** The first this many streams are refused; later ones answered 200. */
  private volatile int refuse = 1;
  /** The RST_STREAM code of the refused streams. */
  private volatile Http2Error resetWith = Http2Error.REFUSED_STREAM;
  /** x-envoy-attempt-count of each stream the upstream answered. */
  private final CopyOnWriteArrayList<String> attemptCounts = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startUpstream() throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server = new io.netty.bootstrap.ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(), new Http2MultiplexHandler(
                new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel s) {
                    if (streams.incrementAndGet() <= refuse) {
                      s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                          boolean head = msg instanceof Http2HeadersFrame;
                          ReferenceCountUtil.release(msg);
                          if (head) {
                            ctx.writeAndFlush(new DefaultHttp2ResetFrame(resetWith));
                          }
                        }
                      });
                      return;
                    }
                    s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpObjectAggregator(1 << 16),
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                          @Override
                          protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                            attemptCounts.add(String.valueOf(req.headers().get("x-envoy-attempt-count")));
                            var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                                Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII));
                            HttpUtil.setContentLength(res, 2);
                            ctx.writeAndFlush(res);
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

  private String bootstrap(String vhostExtras, String routeExtras) {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    String routes = """
                    - name: main
                      domains: ["*"]
        """ + vhostExtras + """
                      routes:
                      - match: { prefix: "/" }
                        route:
                          cluster: c
                          timeout: 10s
        """ + routeExtras;
    String cluster = ProxyHarness.cluster("c", "ROUND_ROBIN", port)
        .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n");
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
  void aRefusedStreamIsRetriedUnderRefusedStream() throws Exception {
    String retry = """
                          retry_policy:
                            retry_on: refused-stream
                            num_retries: 1
                            retry_back_off: { base_interval: 0.005s }
        """;
    String vhost = """
                      include_request_attempt_count: true
                      include_attempt_count_in_response: true
        """;
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(vhost, retry), PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x"))
          .get(10, TimeUnit.SECONDS);
      try {
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.content().toString(StandardCharsets.US_ASCII)).isEqualTo("ok");
        assertThat(r.headers().get("x-envoy-attempt-count")).isEqualTo("2");
      } finally {
        r.release();
      }
      assertThat(streams.get()).as("the refused stream, then the retry").isEqualTo(2);
      assertThat(attemptCounts).containsExactly("2");
      assertThat(stat(proxy, "cluster.c.upstream_rq_retry")).isEqualTo(1);
      assertThat(stat(proxy, "cluster.c.upstream_rq_retry_success")).isEqualTo(1);
    }
  }

  @Test
  void aRefusedStreamIsNotRetriedWhenRetryOnDoesNotCoverIt() throws Exception {
    // (5xx, gateway-error and reset would cover it, as in Envoy: 5xx includes refused-stream.)
    String retry = """
                          retry_policy:
                            retry_on: retriable-4xx
                            num_retries: 1
                            retry_back_off: { base_interval: 0.005s }
        """;
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("", retry), PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x"))
          .get(10, TimeUnit.SECONDS);
      try {
        assertThat(r.status().code()).isEqualTo(503);
        assertThat(r.content().toString(StandardCharsets.US_ASCII)).isEqualTo(
            "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset");
      } finally {
        r.release();
      }
      assertThat(streams.get()).isEqualTo(1);
      assertThat(stat(proxy, "cluster.c.upstream_rq_retry")).isZero();
    }
  }

  @Test
  void withoutARetryPolicyTheClientGetsEnvoys503WithFlagUR() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("", ""), PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x"))
          .get(10, TimeUnit.SECONDS);
      try {
        assertThat(r.status().code()).isEqualTo(503);
        assertThat(r.content().toString(StandardCharsets.US_ASCII)).isEqualTo(
            "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset");
      } finally {
        r.release();
      }
      assertThat(streams.get()).isEqualTo(1);
      assertThat(proxy.admin("/stats/prometheus"))
          .containsPattern("istio_requests_total\\{[^}]*response_code=\"503\"[^}]*response_flags=\"UR\"");
      // The next stream is answered (the connection was not harmed by the refusal).
      FullHttpResponse ok = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/y"))
          .get(10, TimeUnit.SECONDS);
      assertThat(ok.status().code()).isEqualTo(200);
      ok.release();
    }
  }

  // ---- The same upstream behind an HTTP/1.1 client (the HTTP/1.1 path's Http1OverHttp2 streams)

  @Test
  void anHttp11ClientGetsEnvoys503WithFlagURForARefusedStream() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("", ""), PipelineMode.INLINE)) {
      java.net.http.HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo(
          "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset");
      assertThat(streams.get()).isEqualTo(1);
      assertThat(proxy.admin("/stats/prometheus"))
          .containsPattern("istio_requests_total\\{[^}]*response_code=\"503\"[^}]*response_flags=\"UR\"");
      assertThat(proxy.get("/y").statusCode()).as("the next stream is answered").isEqualTo(200);
    }
  }

  @Test
  void anHttp11ClientGetsRemoteResetForAnotherResetCode() throws Exception {
    resetWith = Http2Error.INTERNAL_ERROR;
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("", ""), PipelineMode.INLINE)) {
      java.net.http.HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("upstream connect error or disconnect/reset before headers. reset reason: remote reset");
      assertThat(proxy.admin("/stats/prometheus"))
          .containsPattern("istio_requests_total\\{[^}]*response_code=\"503\"[^}]*response_flags=\"UR\"");
    }
  }

  @Test
  void anHttp11ClientsRefusedStreamIsRetriedUnderRefusedStream() throws Exception {
    String retry = """
                          retry_policy:
                            retry_on: refused-stream
                            num_retries: 1
                            retry_back_off: { base_interval: 0.005s }
        """;
    String vhost = """
                      include_request_attempt_count: true
                      include_attempt_count_in_response: true
        """;
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(vhost, retry), PipelineMode.INLINE)) {
      java.net.http.HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("ok");
      assertThat(r.headers().firstValue("x-envoy-attempt-count")).hasValue("2");
      assertThat(streams.get()).as("the refused stream, then the retry").isEqualTo(2);
      assertThat(attemptCounts).containsExactly("2");
      assertThat(stat(proxy, "cluster.c.upstream_rq_retry")).isEqualTo(1);
    }
  }

  @Test
  void anHttp11ClientsRefusedStreamRetriedUntilExhaustedIsURX() throws Exception {
    refuse = 2;
    String retry = """
                          retry_policy:
                            retry_on: refused-stream
                            num_retries: 1
                            retry_back_off: { base_interval: 0.005s }
        """;
    try (ProxyHarness proxy = new ProxyHarness(bootstrap("", retry), PipelineMode.INLINE)) {
      java.net.http.HttpResponse<String> r = proxy.get("/x");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo(
          "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset");
      assertThat(streams.get()).isEqualTo(2);
      assertThat(proxy.admin("/stats/prometheus"))
          .containsPattern("istio_requests_total\\{[^}]*response_code=\"503\"[^}]*response_flags=\"URX\"");
    }
  }
}
