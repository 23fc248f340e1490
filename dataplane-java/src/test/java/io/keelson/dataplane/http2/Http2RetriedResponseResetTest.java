package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A retried response from an HTTP/2 cluster is dropped as Envoy's router drops it: the upstream stream is
 * reset (RST_STREAM) at once rather than its body read to the end, and the retry goes at once. The h2c
 * upstream answers its odd-numbered streams 503 with {@code content-length: 100000}, 10 bytes of DATA and
 * then nothing; the others 200. Both downstream paths, over real sockets.
 */
class Http2RetriedResponseResetTest {
  private EventLoopGroup group;
  private Channel server;
  private final AtomicInteger streams = new AtomicInteger();
  /** RST_STREAM frames the proxy sent on stalled streams. */
  private final AtomicInteger resets = new AtomicInteger();

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
                    boolean stall = streams.incrementAndGet() % 2 == 1;
                    s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                      private boolean answered;

                      @Override
                      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        if (evt instanceof Http2ResetFrame) { // Http2MultiplexHandler delivers RST_STREAM as an event
                          resets.incrementAndGet();
                        }
                        ctx.fireUserEventTriggered(evt);
                      }

                      @Override
                      public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof Http2HeadersFrame && !answered) {
                          answered = true; // at the head: the request's end (an empty DATA or not) does not matter here
                          answer(ctx, stall);
                        }
                        ReferenceCountUtil.release(msg);
                      }
                    });
                  }
                }));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  private static void answer(ChannelHandlerContext ctx, boolean stall) {
    if (stall) {
      ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("503").setInt("content-length", 100_000)));
      ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("x".repeat(10), StandardCharsets.US_ASCII), false));
      return; // and nothing more
    }
    ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").setInt("content-length", 2)));
    ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII), true));
  }

  @AfterEach
  void stopUpstream() {
    server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private String bootstrap() {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route:
                          cluster: c
                          timeout: 10s
                          retry_policy:
                            retry_on: 5xx
                            num_retries: 2
                            retry_back_off: { base_interval: 0.005s }
        """;
    String cluster = ProxyHarness.cluster("c", "ROUND_ROBIN", port)
        .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n");
    return ProxyHarness.bootstrap(routes, cluster);
  }

  @Test
  void anH2ClientsRetriedResponseStreamIsResetAndRetriedAtOnce() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(), PipelineMode.INLINE); H2Client client = new H2Client(proxy.port())) {
      for (int i = 0; i < 3; i++) {
        long start = System.nanoTime();
        FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x" + i))
            .get(8, TimeUnit.SECONDS);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        try {
          assertThat(r.status().code()).isEqualTo(200);
        } finally {
          r.release();
        }
        assertThat(tookMs).as("retried at once, not after the stalled body").isLessThan(5000);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> resets.get() == 3);
    }
  }

  @Test
  void anHttp11ClientsRetriedResponseStreamIsResetAndRetriedAtOnce() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(), PipelineMode.INLINE)) {
      for (int i = 0; i < 3; i++) {
        long start = System.nanoTime();
        var r = proxy.get("/x" + i);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
        assertThat(tookMs).as("retried at once, not after the stalled body").isLessThan(5000);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> resets.get() == 3);
    }
  }
}
