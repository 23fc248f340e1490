package io.keelson.dataplane.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * One terminated HTTP/2 CONNECT stream (Envoy's CONNECT termination): once the raw TCP connection to the target is up,
 * the client gets a {@code :status 200} HEADERS frame without END_STREAM (its fields made by the stream), then the stream's DATA frames are the
 * connection's bytes both ways. Flow control is the stream's: the stream is read (and its window re-opened) only
 * while the TCP connection is writable, and the TCP connection is read only while the stream is writable. END_STREAM
 * from the client becomes a FIN (shutdownOutput) toward the target once what came before it is written, behind a
 * close_notify toward a TLS target ({@code tls.TlsHalfClose}, as Envoy's TLS socket on end_stream); the target's FIN
 * becomes an empty DATA frame with END_STREAM; when both directions have ended the connection closes (the stream
 * is then closed by HTTP/2 itself). A reset of the stream closes the connection; the connection closing first resets
 * the stream. The target may also be an extended CONNECT's HTTP/2 stream to an upstream ({@code tcp.TunnelFrames} in
 * its pipeline makes its DATA frames bytes): the client's END_STREAM then becomes that stream's END_STREAM. Event-loop
 * confined (the stream and the connection share the loop).
 */
final class ConnectStream extends ChannelInboundHandlerAdapter {
  /** Told once when the tunnel ends, with the bytes each way. */
  interface Listener {
    void onTunnelClosed(long clientToTarget, long targetToClient);

    /** Bytes moved (either way): the stream is not idle. */
    void onTunnelActivity();
  }

  private final Channel down;
  private final Listener listener;
  private Channel up;
  private long sent;
  private long received;
  private boolean clientEnded;
  private boolean targetEnded;
  private boolean closed;

  ConnectStream(Channel down, Listener listener) {
    this.down = down;
    this.listener = listener;
  }

  /**
   * The target's connection is up: answers {@code answer} (a 200 head: the upstream's handshake fields and the route's
   * response headers), writes {@code early} (the DATA the client sent before the 200, in order) and only then starts
   * reading both sides: a read of the stream delivers the DATA queued after {@code early}, which must not overtake it.
   */
  void open(Channel upstream, java.util.Queue<HttpContent> early, HttpResponse answer) {
    up = upstream;
    down.writeAndFlush(answer, down.voidPromise());
    HttpContent c;
    while ((c = early.poll()) != null) {
      fromClient(c);
    }
    up.config().setAutoRead(down.isWritable());
    down.config().setAutoRead(up.isWritable());
    down.read();
    up.read();
  }

  /** A DATA frame (or the END_STREAM) of the client's stream, as the HTTP-object codec delivers it. */
  void fromClient(HttpContent c) {
    ByteBuf data = c.content();
    boolean last = c instanceof LastHttpContent;
    sent += data.readableBytes();
    listener.onTunnelActivity();
    if (up == null || !up.isActive()) {
      c.release();
      return;
    }
    if (data.isReadable()) {
      up.writeAndFlush(data.retain(), up.voidPromise()); // one flush per frame, as the stream's channelRead flushes
    }
    c.release();
    if (!up.isWritable()) {
      down.config().setAutoRead(false);
    }
    if (last) {
      clientEnded = true;
      if (!(up instanceof io.netty.channel.socket.DuplexChannel)) { // an extended CONNECT's HTTP/2 stream (tcp.TunnelFrames): END_STREAM
        up.flush();
        io.keelson.dataplane.tcp.TunnelFrames.endStream(up);
        if (targetEnded) {
          close();
        }
      } else {
        io.keelson.dataplane.tls.TlsHalfClose.shutdownOutput(up).addListener(f -> {
          if (targetEnded) {
            close();
          }
        });
      }
    }
  }

  /** The client's stream can take more (its window opened): read the target again. */
  void onClientWritable(boolean writable) {
    if (up != null && !targetEnded) {
      up.config().setAutoRead(writable);
    }
  }

  /** The stream went away (reset, or both ends done): the connection goes too. */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (up != null) {
      up.close();
    }
    listener.onTunnelClosed(sent, received);
  }

  // ---- the target connection's handler

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf buf = (ByteBuf) msg;
    received += buf.readableBytes();
    listener.onTunnelActivity();
    down.write(new DefaultHttpContent(buf), down.voidPromise());
    if (!down.isWritable()) {
      down.flush();
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    down.flush();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!clientEnded) {
      down.config().setAutoRead(ctx.channel().isWritable());
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    // Under TLS the FIN, not the close_notify event: SslHandler may signal close_notify before it hands over the
    // last records decrypted with it, while the FIN comes after everything read.
    if (evt instanceof ChannelInputShutdownEvent) {
      targetEnded = true;
      down.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, down.voidPromise()); // END_STREAM
      if (clientEnded) {
        close();
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!closed) {
      if (!targetEnded) {
        down.close(); // the target went away without a FIN: reset the stream (CANCEL)
      }
      close();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
