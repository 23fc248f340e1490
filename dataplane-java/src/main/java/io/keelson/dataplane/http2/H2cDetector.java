package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.http1.ProxyContext;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Tells h2c prior knowledge from HTTP/1.1 on the first bytes of a cleartext connection (RFC 9113
 * §3.3): the 24-byte client preface starts with "PRI * HTTP/2.0", which no HTTP/1.1 request does.
 * Decides as soon as a byte differs, so HTTP/1.1 requests are not delayed. Event-loop confined.
 */
final class H2cDetector extends ByteToMessageDecoder {
  private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();
  /** A connection that sends nothing at all is closed after this long. */
  private static final long SILENT_CLOSE_SECONDS = 60;

  private final ProxyContext context;
  private final ListenerConfig listener;
  private ScheduledFuture<?> silence;

  /** The connection's channelActive already reached the HTTP/1.1 handler (a TLS-or-plaintext listener's detector). */
  private final boolean afterActive;

  H2cDetector(ProxyContext context, ListenerConfig listener, boolean afterActive) {
    this.context = context;
    this.listener = listener;
    this.afterActive = afterActive;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    // Held back: the HTTP/1.1 handler sees channelActive only once the connection is known to be HTTP/1.1.
    silence = ctx.executor().schedule(() -> { ctx.close(); }, SILENT_CLOSE_SECONDS, TimeUnit.SECONDS);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
    if (!ByteBufUtil.equals(in, in.readerIndex(), PREFACE, 0, n)) {
      becomeHttp1(ctx);
      return;
    }
    if (n == PREFACE.readableBytes()) {
      becomeHttp2(ctx);
    }
  }

  private void becomeHttp1(ChannelHandlerContext ctx) {
    cancelSilence();
    if (!afterActive) {
      ctx.fireChannelActive();
    }
    ctx.pipeline().remove(this); // forwards the bytes read so far to the HTTP/1.1 handler
  }

  private void becomeHttp2(ChannelHandlerContext ctx) {
    cancelSilence();
    ChannelPipeline p = ctx.pipeline();
    if (afterActive) { // as the ALPN switch: the HTTP/1.1 handler undoes what it counted when removed
      p.remove(io.keelson.dataplane.tls.TlsPipeline.HTTP_HANDLER);
    } else { // the HTTP/1.1 handlers never saw channelActive, so removing them leaves nothing behind
      while (p.last() != this) {
        p.removeLast();
      }
    }
    Http2ServerSupport.configure(p, context, listener);
    p.remove(this); // hands the preface and what followed to the HTTP/2 codec
  }

  private void cancelSilence() {
    if (silence != null) {
      silence.cancel(false);
      silence = null;
    }
  }

  @Override
  public void handlerRemoved0(ChannelHandlerContext ctx) {
    cancelSilence();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelSilence();
    super.channelInactive(ctx);
  }
}
