package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TlsHalfClose} on real loopback sockets: a plaintext connection is half-closed (FIN, reading goes on); one
 * whose TLS records are the kernel's ({@link TlsPipeline#KERNEL_TLS}, no SslHandler to send a close_notify) is closed
 * outright after what was written, never left half-closed behind a bare FIN. This machine has no kTLS: the connection
 * is marked as the switch to kernel TLS marks it.
 */
class TlsHalfCloseTest {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
  private final StringBuilder received = new StringBuilder();
  /** The peer read the FIN. */
  private final CompletableFuture<Boolean> peerSawFin = new CompletableFuture<>();
  /** What the client read back after its half-close. */
  private final CompletableFuture<String> answer = new CompletableFuture<>();

  @AfterEach
  void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  /** A connected client channel whose peer records what it reads and answers "bye" to the FIN. */
  private Channel connect() throws Exception {
    Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true).childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                synchronized (received) {
                  received.append(b.toString(StandardCharsets.US_ASCII));
                }
                b.release();
              }

              @Override
              public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                  peerSawFin.complete(true);
                  ctx.writeAndFlush(Unpooled.copiedBuffer("bye", StandardCharsets.US_ASCII)); // the other direction
                }
              }
            });
          }
        }).bind("127.0.0.1", 0).sync().channel();
    group.next().schedule(() -> server.close(), 30, TimeUnit.SECONDS);
    return new Bootstrap().group(group).channel(NioSocketChannel.class).option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .handler(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            answer.complete(b.toString(StandardCharsets.US_ASCII));
            b.release();
          }
        }).connect(server.localAddress()).sync().channel();
  }

  private static void shutdownOutput(Channel c) throws Exception {
    c.eventLoop().submit(() -> {
      c.write(Unpooled.copiedBuffer("last words", StandardCharsets.US_ASCII));
      return TlsHalfClose.shutdownOutput(c);
    }).get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
  }

  @Test
  void aPlaintextConnectionIsHalfClosedAndStaysOpenForReading() throws Exception {
    Channel c = connect();
    shutdownOutput(c);
    assertThat(((DuplexChannel) c).isOutputShutdown()).isTrue();
    assertThat(c.isActive()).as("reading goes on").isTrue();
    assertThat(peerSawFin.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(answer.get(10, TimeUnit.SECONDS)).as("the other direction still reads").isEqualTo("bye");
    synchronized (received) {
      assertThat(received.toString()).isEqualTo("last words");
    }
    c.close().sync();
  }

  @Test
  void aKernelTlsConnectionIsClosedAfterWhatWasWrittenNotHalfClosed() throws Exception {
    Channel c = connect();
    c.attr(TlsPipeline.KERNEL_TLS).set(Boolean.TRUE); // as KernelTlsSwitch marks it once the SslHandler has left
    assertThat(TlsHalfClose.canHalfClose(c)).isFalse();
    shutdownOutput(c);
    assertThat(c.isActive()).as("closed, not half-closed behind a bare FIN").isFalse();
    assertThat(peerSawFin.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(answer).isNotDone();
    synchronized (received) {
      assertThat(received.toString()).isEqualTo("last words");
    }
  }
}
