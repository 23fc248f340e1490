package io.keelson.dataplane.http2;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test HTTP/2 client speaking h2c with prior knowledge over one connection (Netty). Thread-safe. {@link #close}
 * leaves for real: once it returns, the connection is closed, open streams or not.
 */
public final class H2Client implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  final Channel connection;

  public H2Client(int port) throws InterruptedException {
    this(port, 65_535);
  }

  H2Client(int port, int initialWindow) throws InterruptedException {
    connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(
                Http2FrameCodecBuilder.forClient().initialSettings(Http2Settings.defaultSettings().initialWindowSize(initialWindow))
                    .gracefulShutdownTimeoutMillis(0).build(), // close: GOAWAY, then closed without waiting for streams
                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
          }
        })
        .connect("127.0.0.1", port).sync().channel();
  }

  /** Sends one request on a new stream; completes with the aggregated response (or fails on reset). */
  public CompletableFuture<FullHttpResponse> send(FullHttpRequest request) {
    CompletableFuture<FullHttpResponse> result = new CompletableFuture<>();
    request.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), "http");
    if (!request.headers().contains("host")) {
      request.headers().set("host", "localhost");
    }
    new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel ch) {
        ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), new HttpObjectAggregator(64 * 1024 * 1024),
            new SimpleChannelInboundHandler<FullHttpResponse>() {
              @Override
              protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
                result.complete(msg.retainedDuplicate());
              }

              @Override
              public void channelInactive(ChannelHandlerContext ctx) {
                result.completeExceptionally(new IllegalStateException("stream closed without a response"));
              }
            });
      }
    }).open().addListener(f -> {
      if (!f.isSuccess()) {
        result.completeExceptionally(f.cause());
        return;
      }
      ((Channel) f.getNow()).writeAndFlush(request);
    });
    return result;
  }

  /**
   * Opens a stream that reads nothing after the response head: the bytes it leaves unread hold the
   * stream's window shut. Returns the stream channel; {@code received} counts body bytes read.
   */
  Channel openStalled(FullHttpRequest request, AtomicLong received) throws Exception {
    request.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), "http");
    request.headers().set("host", "localhost");
    Http2StreamChannel ch = new Http2StreamChannelBootstrap(connection).handler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel ch) {
        ch.config().setAutoRead(false);
        ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), new SimpleChannelInboundHandler<HttpObject>() {
          @Override
          protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof io.netty.handler.codec.http.HttpContent c) {
              received.addAndGet(c.content().readableBytes());
            }
          }
        });
      }
    }).open().sync().getNow();
    ch.writeAndFlush(request).sync();
    ch.read(); // just the first frames
    return ch;
  }

  /**
   * Sends GOAWAY and closes the connection, returning once it is closed; the event loop stops only then. A loop told
   * to stop while the close was still queued could stop without closing the socket: the server went on serving a
   * client that was still connected, whose streams never ended.
   */
  @Override
  public void close() {
    if (!connection.close().awaitUninterruptibly(CLOSE_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
      throw new IllegalStateException("the HTTP/2 connection did not close within " + CLOSE_WAIT_SECONDS + " s");
    }
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }

  private static final int CLOSE_WAIT_SECONDS = 10;
}
