package io.keelson.dataplane.tls;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;

/**
 * A half-close (FIN) toward a connection once what was written to it is out: under TLS in user space a close_notify
 * goes first, so the peer sees the end of the stream and not a truncation, then the socket's output is shut; reading
 * goes on (TLS 1.3 closes each direction on its own; Envoy's TLS transport socket does the same on end_stream). A
 * connection whose TLS records moved to the kernel ({@link TlsPipeline#KERNEL_TLS}) has no SslHandler to write the
 * close_notify, and a bare FIN there would read as a truncation: it is closed outright instead (no half-close on such
 * connections). Stateless; call on the channel's event loop.
 */
public final class TlsHalfClose {
  private TlsHalfClose() {}

  /**
   * Completes once the output is shut, or the connection closed when it cannot be half-closed (kernel TLS); at once
   * when {@code c} is not an open socket; fails when a write or the shutdown did.
   */
  public static ChannelFuture shutdownOutput(Channel c) {
    if (!(c instanceof DuplexChannel d) || !c.isActive()) {
      return c.newSucceededFuture();
    }
    SslHandler ssl = c.pipeline().get(SslHandler.class);
    boolean halfClose = canHalfClose(c);
    ChannelPromise done = c.newPromise();
    c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> { // everything before it is encrypted and written
      if (!written.isSuccess()) {
        done.tryFailure(written.cause());
        return;
      }
      if (!halfClose) {
        c.close().addListener(closed -> done.trySuccess()); // kernel TLS: what was written is out, then the end
        return;
      }
      ChannelFuture notified = ssl == null ? c.newSucceededFuture() : ssl.closeOutbound();
      notified.addListener(n -> d.shutdownOutput().addListener(shut -> {
        if (shut.isSuccess()) {
          done.trySuccess();
        } else {
          done.tryFailure(shut.cause());
        }
      }));
    });
    return done;
  }

  /**
   * Whether {@code c}'s output can end on its own with the peer seeing a clean end: plaintext, or TLS in user space
   * (an SslHandler sends the close_notify); not when its TLS records are the kernel's.
   */
  static boolean canHalfClose(Channel c) {
    return c.pipeline().get(SslHandler.class) != null || !Boolean.TRUE.equals(c.attr(TlsPipeline.KERNEL_TLS).get());
  }
}
