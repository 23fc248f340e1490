package io.keelson.dataplane.intercept;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A listener filter that reads a connection's first bytes before the listener's own handlers see it (Envoy's
 * listener filters: the http_inspector, proxy_protocol): starts once the connection is active (holding its
 * {@code channelActive} back for the handlers it installs), asks for the first read whatever the channel's auto-read,
 * and gives up after the listener's {@code listener_filters_timeout} ({@link #onTimeout}; zero waits for ever). Per
 * connection, event-loop confined.
 */
abstract class ListenerFilterDecoder extends ByteToMessageDecoder {
  private ScheduledFuture<?> timer;
  private boolean started;

  /** The listener_filters_timeout in nanoseconds; 0 for none. */
  protected abstract long timeoutNanos();

  /** The timeout passed before the bytes decided. */
  protected abstract void onTimeout(ChannelHandlerContext ctx);

  /** Called once when the connection is active, before the first read is asked for. */
  protected void onStart(ChannelHandlerContext ctx) {}

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start(ctx); // not passed on: the handlers installed once the bytes decide see the connection become active
  }

  private void start(ChannelHandlerContext ctx) {
    if (started) {
      return;
    }
    started = true;
    onStart(ctx);
    long nanos = timeoutNanos();
    if (nanos > 0) {
      timer = ctx.executor().schedule(() -> onTimeout(ctx), nanos, TimeUnit.NANOSECONDS);
    }
    ctx.read(); // whatever the channel's auto-read, the first bytes are wanted
  }

  /** The bytes decided: the timeout no longer applies. */
  protected final void cancelTimeout() {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    cancelTimeout();
  }
}
