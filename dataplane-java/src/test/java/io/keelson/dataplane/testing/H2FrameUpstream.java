package io.keelson.dataplane.testing;

import io.netty.bootstrap.ServerBootstrap;
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
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cleartext HTTP/2 (h2c, prior knowledge) upstream at the frame level, for answers a real server would not give on
 * demand: each stream's request HEADERS goes to an {@link Answer} that writes whatever frames it likes (interim 1xx,
 * a 2xx with END_STREAM, extra fields, or nothing at all); DATA the client sends after that is echoed, its END_STREAM
 * with it. Threads: one Netty loop of its own.
 */
public final class H2FrameUpstream implements AutoCloseable {
  /** Answers one stream's request HEADERS, on the stream's loop. */
  public interface Answer {
    void onRequest(Http2StreamChannel stream, Http2HeadersFrame request);
  }

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel server;
  /** Request HEADERS seen, one per stream. */
  public final AtomicInteger requests = new AtomicInteger();

  public H2FrameUpstream(Answer answer) throws InterruptedException {
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel s) {
                    s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                      @Override
                      public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof Http2HeadersFrame h) {
                          requests.incrementAndGet();
                          answer.onRequest(s, h);
                        } else if (msg instanceof Http2DataFrame d) {
                          s.writeAndFlush(new DefaultHttp2DataFrame(d.content().retain(), d.isEndStream()));
                        }
                        ReferenceCountUtil.release(msg);
                      }
                    });
                  }
                }));
          }
        }).bind("127.0.0.1", 0).sync().channel();
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }
}
