package io.keelson.dataplane.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Netty RFC 6455 WebSocket echo server (HTTP/1.1 Upgrade) on loopback: {@code /ws} upgrades, text comes back as
 * {@code "echo:" + text}, binary as it came, a close is answered and the connection closed (Netty's protocol handler);
 * any other path gets 403 with a body ({@link #REFUSAL}). Keeps the handshake requests it saw. Its own event loop.
 */
public final class WebSocketEchoServer implements AutoCloseable {
  /** The handshake GETs this server saw (released on close). */
  /** The body of the 403 any path but /ws gets (with content-type text/plain and x-refused-by: echo). */
  public static final String REFUSAL = "no WebSocket at this path";
  public final LinkedBlockingQueue<FullHttpRequest> handshakes = new LinkedBlockingQueue<>();
  /** Connections open now. */
  public final AtomicInteger open = new AtomicInteger();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel server;

  public WebSocketEchoServer() throws InterruptedException {
    this(false);
  }

  /**
   * @param negotiating the handshake also accepts subprotocol {@code chat} and permessage-deflate (RFC 7692) when the
   *                    client offers them, and its 101 carries {@code set-cookie: session=ws1} and
   *                    {@code x-upstream: negotiated}
   */
  public WebSocketEchoServer(boolean negotiating) throws InterruptedException {
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            open.incrementAndGet();
            ch.closeFuture().addListener(f -> open.decrementAndGet());
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536));
            if (negotiating) {
              ch.pipeline().addLast(new io.netty.channel.ChannelOutboundHandlerAdapter() {
                @Override
                public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
                  if (msg instanceof io.netty.handler.codec.http.HttpResponse r
                      && r.status().equals(HttpResponseStatus.SWITCHING_PROTOCOLS)) {
                    r.headers().add("set-cookie", "session=ws1").add("x-upstream", "negotiated");
                  }
                  ctx.write(msg, promise);
                }
              }, new io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler(0));
            }
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof FullHttpRequest r) {
                  handshakes.add(r.retainedDuplicate());
                }
                ctx.fireChannelRead(msg);
              }
            }, new WebSocketServerProtocolHandler("/ws", negotiating ? "chat" : null, negotiating, 1 << 20), new WebSocketFrameAggregator(1 << 20),
                new SimpleChannelInboundHandler<Object>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof TextWebSocketFrame t) {
                      ctx.writeAndFlush(new TextWebSocketFrame("echo:" + t.text()));
                    } else if (msg instanceof BinaryWebSocketFrame b) {
                      ctx.writeAndFlush(new BinaryWebSocketFrame(b.content().retain()));
                    } else if (msg instanceof FullHttpRequest) { // not /ws
                      var forbidden = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.FORBIDDEN,
                          io.netty.buffer.Unpooled.copiedBuffer(REFUSAL, java.nio.charset.StandardCharsets.US_ASCII));
                      forbidden.headers().set("content-length", REFUSAL.length()).set("content-type", "text/plain")
                          .set("x-refused-by", "echo").set("connection", "keep-alive, x-hop").set("x-hop", "1");
                      ctx.writeAndFlush(forbidden);
                    }
                  }
                });
          }
        }).bind("127.0.0.1", 0).sync().channel();
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Override
  public void close() {
    server.close().awaitUninterruptibly();
    handshakes.forEach(FullHttpRequest::release);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
