package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ProxyProtocolConfig;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's {@code envoy.filters.listener.proxy_protocol} on one connection: reads the PROXY protocol header
 * ({@link ProxyProtocolHeader}, v1 or v2) before anything else, restores the addresses it carries as the connection's
 * remote ({@link RemoteAddress}) and local ({@link OriginalDestination#localAddress}) addresses, consumes it, and
 * hands the connection to the listener's own set-up, which then sees the connection become active and receives the
 * bytes after the header (a TLS ClientHello, an HTTP request). A malformed or disallowed header, or none without
 * {@code allow_requests_without_proxy_protocol}, closes the connection and is counted; so is a client that has not
 * sent a whole header within {@code listener_filters_timeout}. Per connection, event-loop confined.
 */
final class ProxyProtocolReader extends ListenerFilterDecoder {
  /** Envoy's counters: per version found / disallowed / error, not found, the legacy error count, the timeout. */
  record Counters(LongAdder v1Found, LongAdder v1Disallowed, LongAdder v1Error, LongAdder v2Found,
      LongAdder v2Disallowed, LongAdder v2Error, LongAdder notFoundAllowed, LongAdder notFoundDisallowed,
      LongAdder legacyError, LongAdder timeout) {}

  private final ProxyProtocolConfig config;
  private final ChannelHandler next;
  private final Counters counters;
  /** The header was read (or found missing and allowed, or refused): no more decoding. */
  private boolean decided;
  /** The connection was handed to the listener's set-up (or refused). */
  private boolean installed;
  /** The channel's ALLOW_HALF_CLOSURE before {@link #onStart}: given back at the hand-over. */
  private Boolean halfClosure;
  /** The client's FIN came before the hand-over: passed to the listener's handlers after it. */
  private boolean inputShutdown;

  ProxyProtocolReader(ProxyProtocolConfig config, ChannelHandler next, Counters counters) {
    this.config = config;
    this.next = next;
    this.counters = counters;
  }

  @Override
  protected long timeoutNanos() {
    return config.timeout().toNanos();
  }

  @Override
  protected void onStart(ChannelHandlerContext ctx) {
    // A FIN read with the header (a balancer that sends header, bytes and FIN at once) must reach the listener's
    // handlers as an input-shutdown event after the bytes, as it would without this filter, not close the connection
    // before they saw it: half-closure on until the hand-over, which gives the listener's own setting back.
    halfClosure = ctx.channel().config().getOption(ChannelOption.ALLOW_HALF_CLOSURE);
    ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (decided) {
      return;
    }
    if (config.allowWithout() && !ProxyProtocolHeader.mayStart(in)) {
      counters.notFoundAllowed().increment();
      decided = true; // served as it is, from the end of this read (see channelReadComplete)
      return;
    }
    ProxyProtocolHeader.Header header;
    try {
      header = ProxyProtocolHeader.read(in);
    } catch (ProxyProtocolHeader.Malformed e) {
      (switch (e.version()) {
        case 1 -> counters.v1Error();
        case 2 -> counters.v2Error();
        default -> counters.notFoundDisallowed();
      }).increment();
      refuse(ctx, in);
      return;
    }
    if (header == ProxyProtocolHeader.NEED_MORE) {
      return;
    }
    boolean v1 = header.version() == 1;
    if (config.disallows(header.version())) {
      (v1 ? counters.v1Disallowed() : counters.v2Disallowed()).increment();
      refuse(ctx, in);
      return;
    }
    (v1 ? counters.v1Found() : counters.v2Found()).increment();
    if (header.source() != null) {
      RemoteAddress.restore(ctx.channel(), header.source());
      OriginalDestination.set(ctx.channel(), header.destination());
    }
    in.skipBytes(header.length());
    decided = true; // the connection's own bytes (if any yet) wait for the end of this read
  }

  /**
   * Hands the connection over at the end of the read that decided it, never in the middle: the chain's handlers must
   * see the connection become active before any read completes, and a read that carried only the header must not
   * reach them as an empty read complete (the HTTP/1.1 handler is not active yet behind its h2c detector then).
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    if (decided && !installed && ctx.channel().isOpen()) {
      install(ctx); // the bytes after the header, if any, follow with a read complete of their own
      return;
    }
    super.channelReadComplete(ctx);
  }

  private void refuse(ChannelHandlerContext ctx, ByteBuf in) {
    decided = true;
    installed = true; // nothing to hand over
    counters.legacyError().increment();
    in.skipBytes(in.readableBytes());
    ctx.close();
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    // The client went away before a whole header: nothing to hand over (the decoder releases the bytes).
  }

  @Override
  protected void onTimeout(ChannelHandlerContext ctx) {
    if (decided || ctx.isRemoved()) {
      return;
    }
    decided = true;
    installed = true;
    counters.timeout().increment();
    ctx.close();
  }

  /** Hands the connection, and the bytes after the header, to the listener's own set-up. */
  private void install(ChannelHandlerContext ctx) {
    installed = true;
    cancelTimeout();
    if (halfClosure != null) {
      ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, halfClosure);
    }
    var pipeline = ctx.pipeline();
    pipeline.addAfter(ctx.name(), null, next); // a ChannelInitializer: its handlers replace it at once
    ctx.fireChannelActive();
    pipeline.remove(this); // the decoder passes the bytes after the header on, then a read complete
    if (inputShutdown) { // after the bytes, as the transport would have told the handlers
      if (ctx.channel().config().getOption(ChannelOption.ALLOW_HALF_CLOSURE)) {
        pipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      } else {
        ctx.channel().close(); // what the transport does on a FIN without half-closure
      }
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof ChannelInputShutdownEvent && !installed) {
      inputShutdown = true;
      if (decided && ctx.channel().isOpen()) {
        install(ctx); // the header was read with the FIN: hand over now, the FIN after the bytes
      } else if (!decided) {
        ctx.close(); // the client went away before a whole header: nothing to hand over
      }
      return;
    }
    if (evt instanceof ChannelInputShutdownReadComplete && !installed) {
      return;
    }
    super.userEventTriggered(ctx, evt);
  }
}
