package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.ByteBuf;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code Expect: 100-continue} from an HTTP/2 client: the proxy answers 100 before the client sends
 * its body, the body then reaches the upstream (HTTP/1.1 or HTTP/2) and the final response comes
 * back; the upstream never sees the Expect header. Real sockets; the client is hand-built frames.
 */
class Http2ExpectContinueTest {
  private TestUpstream h1;
  private EventLoopGroup h2Group;
  private Channel h2Server;
  private ProxyHarness proxy;

  @BeforeEach
  void start() throws Exception {
    h1 = new TestUpstream("h1");
    h2Group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    h2Server = new io.netty.bootstrap.ServerBootstrap().group(h2Group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(), new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel s) {
                s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpObjectAggregator(1 << 20), new EchoBodySize());
              }
            }));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    int h2Port = ((InetSocketAddress) h2Server.localAddress()).getPort();
    String vhosts = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/h2" }
                        route: { cluster: h2 }
                      - match: { prefix: "/" }
                        route: { cluster: h1 }
        """;
    String clusters = ProxyHarness.cluster("h1", "ROUND_ROBIN", h1.port())
        + ProxyHarness.cluster("h2", "ROUND_ROBIN", h2Port) + "    http2_protocol_options: {}\n";
    proxy = new ProxyHarness(ProxyHarness.bootstrap(vhosts, clusters), PipelineMode.INLINE);
  }

  @AfterEach
  void stop() {
    proxy.close();
    h1.close();
    h2Server.close();
    h2Group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Answers with the request's Expect header (or "none") and the number of body bytes it got. */
  private static final class EchoBodySize extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String expect = req.headers().get("expect", "none");
      ByteBuf body = Unpooled.copiedBuffer("expect=" + expect + " bytes=" + req.content().readableBytes(), StandardCharsets.UTF_8);
      DefaultFullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
      HttpUtil.setContentLength(res, body.readableBytes());
      ctx.writeAndFlush(res);
    }
  }

  /** Sends the head with Expect, waits for the 100, then the body; returns the final response's body. */
  private static String expectContinue(RawH2 client, String path) throws Exception {
    client.frame(RawH2.HEADERS, RawH2.END_HEADERS, 1, client.headerBlock("POST", path, "expect", "100-continue",
        "content-length", "5000"));
    RawH2.Frame cont = client.await(f -> f.type() == RawH2.HEADERS && f.stream() == 1, Duration.ofSeconds(20));
    assertThat(cont).as("an informational HEADERS frame before any body was sent").isNotNull();
    assertThat(client.statuses(1)).containsExactly("100");
    assertThat(cont.flags() & RawH2.END_STREAM).isZero();
    client.frame(RawH2.DATA, RawH2.END_STREAM, 1, new byte[5000]);
    RawH2.Frame end = client.await(f -> f.stream() == 1 && (f.flags() & RawH2.END_STREAM) != 0, Duration.ofSeconds(20));
    assertThat(end).isNotNull();
    assertThat(client.statuses(1)).containsExactly("100", "200");
    return new String(end.type() == RawH2.DATA ? client.bodyOf(1) : new byte[0], StandardCharsets.UTF_8);
  }

  @Test
  void anHttp2ClientExpectingContinueGetsOneFromTheProxyAndItsBodyReachesAnHttp1Upstream() throws Exception {
    try (RawH2 client = new RawH2(proxy.port())) {
      String body = expectContinue(client, "/echo");
      assertThat(body).contains("POST /echo").contains("body-bytes: 5000").doesNotContain("expect:");
    }
    assertThat(h1.requests.get()).isEqualTo(1);
  }

  @Test
  void anHttp2ClientExpectingContinueGetsOneFromTheProxyAndItsBodyReachesAnHttp2Upstream() throws Exception {
    try (RawH2 client = new RawH2(proxy.port())) {
      assertThat(expectContinue(client, "/h2/echo")).isEqualTo("expect=none bytes=5000");
    }
  }

  @Test
  void aRequestWithoutBodyGetsNoContinueAndTheHeaderIsNotForwarded() throws Exception {
    try (RawH2 client = new RawH2(proxy.port())) {
      client.frame(RawH2.HEADERS, RawH2.END_HEADERS | RawH2.END_STREAM, 1, client.headerBlock("GET", "/x", "expect", "100-continue"));
      RawH2.Frame end = client.await(f -> f.stream() == 1 && (f.flags() & RawH2.END_STREAM) != 0, Duration.ofSeconds(20));
      assertThat(end).isNotNull();
      assertThat(client.statuses(1)).containsExactly("200");
      assertThat(new String(client.bodyOf(1), StandardCharsets.UTF_8)).contains("GET /x").doesNotContain("expect:");
    }
  }
}
