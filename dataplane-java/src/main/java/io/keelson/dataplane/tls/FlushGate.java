package io.keelson.dataplane.tls;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

/**
 * Sits right after the {@code SslHandler} and drops a flush that no write preceded since the previous
 * flush. To Netty's {@code SslHandler} every flush is a wrap: with nothing pending it still wraps an empty
 * buffer (the engine's JNI calls, an output buffer, a promise, an empty write down the pipeline). The
 * HTTP/1.1 path flushes an upstream twice for a request without a body (after the head, then at the end
 * of the read that completed the request), so without this gate every proxied request paid one empty
 * wrap. The TLS handler's own flushes (handshake, close_notify) start below this handler and are never
 * seen here. Per connection, event-loop confined.
 */
final class FlushGate extends ChannelOutboundHandlerAdapter {
  /** Name in a pipeline, right after {@link TlsPipeline#TLS_HANDLER}. */
  static final String NAME = "tls-flush-gate";
  private boolean written;

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    written = true;
    ctx.write(msg, promise);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    if (written) {
      written = false;
      ctx.flush();
    }
  }
}
