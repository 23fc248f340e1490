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
 * Decides as soon as a byte differs, so HTTP/1.1 requests are not delayed. On a TLS-or-plaintext (PERMISSIVE) listener
 * it takes the TLS detector's place once the first bytes are not TLS (the HTTP/1.1 handler has seen channelActive by
 * then), as Envoy's codec sniffs the preface whatever the transport. Event-loop confined.
 */
final class H2cDetector extends ByteToMessageDecoder {
  private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();
  /** A connection that sends nothing at all is closed after this long. */
  private static final long SILENT_CLOSE_SECONDS = 60;

  private final ProxyContext context;
  private final ListenerConfig listener;
  private ScheduledFuture<?> silence;
  /** channelActive was held back from the handlers after this one (added before the connection was active). */
  private boolean activeHeld;

  H2cDetector(ProxyContext context, ListenerConfig listener) {
    this.context = context;
    this.listener = listener;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    // Held back: the HTTP/1.1 handler sees channelActive only once the connection is known to be HTTP/1.1.
    activeHeld = true;
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
    if (activeHeld) {
      ctx.fireChannelActive();
    }
    ctx.pipeline().remove(this); // forwards the bytes read so far to the HTTP/1.1 handler
  }

  private void becomeHttp2(ChannelHandlerContext ctx) {
    cancelSilence();
    ChannelPipeline p = ctx.pipeline();
    // The HTTP/1.1 handlers never saw channelActive (or, behind a TLS detector, undo what it counted when removed).
    while (p.last() != this) {
      p.removeLast();
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
