package io.keelson.dataplane.mirror;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One mirrored request on its own connection ({@code connection: close}): writes the copy once
 * connected, reads and discards the response until the shadow closes, and counts a failure when no
 * response byte arrived (reset, timeout). Confined to the connection's event loop.
 */
final class ShadowExchange extends ChannelInboundHandlerAdapter {
  private final ByteBuf request;
  private final MirrorCounters counters;
  private final long timeoutNanos;
  private boolean responded;
  private boolean ended;
  private boolean written; // the request buffer was handed to the channel (or released)
  private ScheduledFuture<?> timeout;

  /** @param request the encoded head and body; released by this handler */
  ShadowExchange(ByteBuf request, MirrorCounters counters, long timeoutNanos) {
    this.request = request;
    this.counters = counters;
    this.timeoutNanos = timeoutNanos;
  }

  /** The connection could not be opened: the copy is dropped. */
  void connectFailed() {
    if (!written) {
      written = true;
      request.release();
    }
    end(false);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    counters.total().increment();
    if (timeoutNanos > 0) {
      timeout = ctx.executor().schedule(() -> ctx.close(), timeoutNanos, TimeUnit.NANOSECONDS);
    }
    written = true;
    ctx.writeAndFlush(request);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf b && b.isReadable()) {
      responded = true;
    }
    ReferenceCountUtil.release(msg); // the shadow's answer is never used
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (timeout != null) {
      timeout.cancel(false);
    }
    if (!written) {
      written = true;
      request.release();
    }
    end(responded);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  private void end(boolean ok) {
    if (ended) {
      return;
    }
    ended = true;
    if (!ok) {
      counters.failed().increment();
    }
  }
}
