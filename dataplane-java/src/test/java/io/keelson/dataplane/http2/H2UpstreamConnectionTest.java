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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The life of an HTTP/2 upstream connection: closed at the cluster's
 * {@code common_http_protocol_options.idle_timeout} without streams, kept while used, closed after
 * {@code max_requests_per_connection} streams; PINGs every
 * {@code connection_keepalive.interval}, closed when an ACK takes longer than the timeout. Real
 * sockets: an h2c upstream counts its connections opened and closed and the PINGs it gets.
 */
class H2UpstreamConnectionTest {
  private EventLoopGroup group;
  private Channel server;
  private final AtomicInteger opened = new AtomicInteger();
  private final AtomicInteger closed = new AtomicInteger();
  private final AtomicInteger pings = new AtomicInteger();
  private ProxyHarness proxy;

  @BeforeEach
  void start() throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  }

  /** @param ackPings whether the upstream answers PINGs (a silent peer does not) */
  private void startUpstream(boolean ackPings) throws Exception {
    server = new io.netty.bootstrap.ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            opened.incrementAndGet();
            ch.closeFuture().addListener(f -> closed.incrementAndGet());
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().autoAckPingFrame(ackPings).build(), new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel s) {
                s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpObjectAggregator(1 << 16),
                    new SimpleChannelInboundHandler<FullHttpRequest>() {
                      @Override
                      protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                        var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.copiedBuffer("ok".getBytes()));
                        HttpUtil.setContentLength(res, 2);
                        ctx.writeAndFlush(res);
                      }
                    });
              }
            }), new io.netty.channel.ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof io.netty.handler.codec.http2.Http2PingFrame p && !p.ack()) {
                  pings.incrementAndGet();
                }
                io.netty.util.ReferenceCountUtil.release(msg);
              }
            });
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  private void startProxy(String idleTimeout) throws Exception {
    startProxy(idleTimeout, "{}");
  }

  private void startProxy(String idleTimeout, String http2Options) throws Exception {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    String vhosts = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: h2 }
        """;
    String options = """
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                common_http_protocol_options: { idle_timeout: %s }
                explicit_http_config:
                  http2_protocol_options: %s
        """.formatted(idleTimeout, http2Options);
    String cluster = ProxyHarness.cluster("h2", "ROUND_ROBIN", port).replace("    type: STATIC\n", "    type: STATIC\n" + options);
    proxy = new ProxyHarness(ProxyHarness.bootstrap(vhosts, cluster), PipelineMode.INLINE);
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    server.close();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void anIdleHttp2UpstreamConnectionIsClosedAtTheClustersIdleTimeout() throws Exception {
    startUpstream(true);
    startProxy("1s");
    assertThat(proxy.get("/a").statusCode()).isEqualTo(200);
    assertThat(opened.get()).isEqualTo(1);
    await().atMost(Duration.ofSeconds(20)).until(() -> closed.get() == 1);
    assertThat(proxy.get("/b").statusCode()).as("a new connection after the idle close").isEqualTo(200);
    assertThat(opened.get()).isEqualTo(2);
  }

  @Test
  void aConnectionInUseWithinTheIdleTimeoutIsKept() throws Exception {
    startUpstream(true);
    startProxy("30s");
    for (int i = 0; i < 5; i++) {
      assertThat(proxy.get("/a" + i).statusCode()).isEqualTo(200);
      Thread.sleep(300);
    }
    assertThat(opened.get()).isEqualTo(1);
    assertThat(closed.get()).isZero();
  }

  @Test
  void keepalivePingsAreSentAndAnsweredPingsKeepTheConnection() throws Exception {
    startUpstream(true);
    startProxy("3600s", "{ connection_keepalive: { interval: 0.2s, timeout: 5s } }");
    assertThat(proxy.get("/a").statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(20)).until(() -> pings.get() >= 3);
    assertThat(closed.get()).isZero();
    assertThat(proxy.get("/b").statusCode()).isEqualTo(200);
    assertThat(opened.get()).as("the same connection served both").isEqualTo(1);
  }

  @Test
  void anUpstreamThatDoesNotAnswerPingsIsClosedAfterTheTimeout() throws Exception {
    startUpstream(false);
    startProxy("3600s", "{ connection_keepalive: { interval: 0.2s, timeout: 1s } }");
    assertThat(proxy.get("/a").statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(20)).until(() -> closed.get() == 1);
    assertThat(pings.get()).isGreaterThanOrEqualTo(1);
    assertThat(proxy.get("/b").statusCode()).as("a new connection after the dead one").isEqualTo(200);
    assertThat(opened.get()).isEqualTo(2);
  }

  @Test
  void aConnectionCarriesAtMostMaxRequestsPerConnectionStreamsThenCloses() throws Exception {
    startUpstream(true);
    startProxy("3600s, max_requests_per_connection: 2");
    for (int i = 0; i < 5; i++) {
      assertThat(proxy.get("/a" + i).statusCode()).isEqualTo(200);
    }
    assertThat(opened.get()).as("5 requests, 2 per connection").isEqualTo(3);
    await().atMost(Duration.ofSeconds(10)).until(() -> closed.get() >= 2); // the spent ones close once idle
  }

  @Test
  void aConnectionPastMaxConnectionDurationTakesNoNewStreamAndCloses() throws Exception {
    startUpstream(true);
    startProxy("3600s, max_connection_duration: 3s");
    long start = System.nanoTime();
    assertThat(proxy.get("/a").statusCode()).isEqualTo(200);
    assertThat(proxy.get("/b").statusCode()).isEqualTo(200);
    if (System.nanoTime() - start < 2_500_000_000L) { // a loaded machine can take longer than the age limit
      assertThat(opened.get()).as("reused while young").isEqualTo(1);
    }
    await().atMost(Duration.ofSeconds(15)).until(() -> closed.get() == opened.get()); // idle at its age: closed
    int before = opened.get();
    assertThat(proxy.get("/c").statusCode()).isEqualTo(200);
    assertThat(opened.get()).isEqualTo(before + 1);
  }

  @Test
  void withoutKeepaliveNoPingIsSent() throws Exception {
    startUpstream(true);
    startProxy("3600s");
    assertThat(proxy.get("/a").statusCode()).isEqualTo(200);
    Thread.sleep(1000);
    assertThat(pings.get()).isZero();
  }
}
