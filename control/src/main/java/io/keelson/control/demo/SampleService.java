package io.keelson.control.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The demo's "product-service": answers every request with a small JSON naming its version and the
 * path it saw. A stand-in for a user's application. Thread-safe.
 */
public final class SampleService implements AutoCloseable {
  private final String name;
  private final String version;
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  /**
   * Open connections, closed by {@link #close()} itself: the event loop group's graceful shutdown alone can end with
   * accepted connections still open, registered and active but no longer served (their peers get no FIN, a request
   * on one is never read), so a caller such as a sidecar's keep-alive pool waits for its timeout.
   */
  private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private Channel channel;

  public SampleService(String name, String version) {
    this.name = name;
    this.version = version;
  }

  public SampleService start(String host, int port) throws InterruptedException {
    channel =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    children.add(ch);
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(1 << 20))
                        .addLast(new Responder());
                  }
                })
            .bind(host, port)
            .sync()
            .channel();
    return this;
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /** Stops as a killed process would: no new connection, and every open one closed (its peer gets a FIN). */
  @Override
  public void close() {
    if (channel != null) {
      channel.close().awaitUninterruptibly();
    }
    children.close().awaitUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  private final class Responder extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String body =
          "{\"service\":\"" + name + "\",\"version\":\"" + version + "\",\"path\":\""
              + req.uri().replace("\"", "%22") + "\"}\n";
      FullHttpResponse resp =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
      resp.headers().set("x-served-by", name + "-" + version);
      String caller = req.headers().get("x-forwarded-client-cert");
      if (caller != null) {
        resp.headers().set("x-caller-cert", caller); // who called, as the sidecar verified it (mesh mTLS)
      }
      resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, resp.content().readableBytes());
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      HttpUtil.setKeepAlive(resp, keepAlive);
      var f = ctx.writeAndFlush(resp);
      if (!keepAlive) {
        f.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
      }
    }
  }
}
