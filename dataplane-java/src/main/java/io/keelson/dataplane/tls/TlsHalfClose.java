package io.keelson.dataplane.tls;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;

/**
 * A half-close (FIN) toward a connection once what was written to it is out: under TLS a close_notify goes first, so
 * the peer sees the end of the stream and not a truncation, then the socket's output is shut; reading goes on (TLS 1.3
 * closes each direction on its own; Envoy's TLS transport socket does the same on end_stream). Stateless; call on the
 * channel's event loop.
 */
public final class TlsHalfClose {
  private TlsHalfClose() {}

  /** Completes once the output is shut (at once when {@code c} is not an open socket); fails when a write or the shutdown did. */
  public static ChannelFuture shutdownOutput(Channel c) {
    if (!(c instanceof DuplexChannel d) || !c.isActive()) {
      return c.newSucceededFuture();
    }
    ChannelPromise done = c.newPromise();
    c.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> { // everything before it is encrypted and written
      if (!written.isSuccess()) {
        done.tryFailure(written.cause());
        return;
      }
      SslHandler ssl = c.pipeline().get(SslHandler.class);
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
}
