package io.keelson.control.sidecar;

import io.netty.bootstrap.ServerBootstrap;
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
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An app that speaks only HTTP/2 in cleartext with prior knowledge (h2c), as a plain HTTP/2 service does: every
 * request gets 200 with body {@code h2 <path>}; an HTTP/1.1 request fails (Netty's codec rejects its preface), so an
 * answer proves the hop to it was HTTP/2. Counts streams and connections. Thread-safe.
 */
final class H2cApp implements AutoCloseable {
  final AtomicInteger streams = new AtomicInteger();
  final AtomicInteger connections = new AtomicInteger();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel channel;

  H2cApp() throws InterruptedException {
    channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.incrementAndGet();
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(), new ChannelInboundHandlerAdapter() {
              private final java.util.Map<Integer, CharSequence> paths = new java.util.HashMap<>();

              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                // Answered at the end of the request, which is its HEADERS or its last DATA frame.
                if (msg instanceof Http2HeadersFrame h && h.headers().path() != null) {
                  paths.put(h.stream().id(), h.headers().path());
                }
                if (msg instanceof Http2StreamFrame f && f.stream() != null && endStream(f)) {
                  CharSequence path = paths.remove(f.stream().id());
                  streams.incrementAndGet();
                  byte[] body = ("h2 " + path).getBytes(StandardCharsets.UTF_8);
                  ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")
                      .setInt("content-length", body.length)).stream(f.stream()));
                  ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(body), true).stream(f.stream()));
                }
                io.netty.util.ReferenceCountUtil.release(msg);
              }
            });
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  private static boolean endStream(Http2StreamFrame f) {
    return f instanceof Http2HeadersFrame h ? h.isEndStream() : f instanceof Http2DataFrame d && d.isEndStream();
  }

  int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }
}
