package io.keelson.dataplane.http2;

import io.keelson.dataplane.routing.ServingListener;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The connection-level part of an HTTP/2 downstream connection, after the multiplexer: counts the
 * connection, opens the connection window to its configured size, and caps PING and SETTINGS frames
 * per time window (a flood is answered with GOAWAY ENHANCE_YOUR_CALM), and closes a connection whose client
 * resets too many streams prematurely ({@link #streamClosed}, Envoy's premature-reset check). Netty's codec already bounds
 * resets, CONTINUATION runs, header lists, empty DATA frames, window overflows and queued control
 * frames. A connection cut off with a GOAWAY is closed at the latest {@link #DELAYED_CLOSE_MILLIS}
 * later, written or not (Netty closes it only once the GOAWAY is written, which never happens while the
 * peer leaves earlier bytes unread). Event-loop confined.
 */
final class ConnectionGuard extends ChannelInboundHandlerAdapter implements StreamsGuard {
  /** PING plus SETTINGS frames allowed per window; far above what any real client sends. */
  static final int MAX_CONTROL_FRAMES_PER_WINDOW = 1000;
  static final long CONTROL_WINDOW_NANOS = 10_000_000_000L;
  /**
   * How long a connection cut off with a GOAWAY may wait for it to be written before it is closed anyway:
   * Envoy's {@code delayed_close_timeout} default.
   */
  static final long DELAYED_CLOSE_MILLIS = 1000;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConnectionGuard.class);

  private final ServerStreams streams;
  private final Http2FrameCodec codec;
  private final int connectionWindow;
  private final PrematureResets prematureResets;
  private ChannelHandlerContext ctx;
  /** This guard sent its own GOAWAY (a flood or too many premature resets). */
  private boolean cutOff;
  private ServingListener listener;
  private long windowStart;
  private int controlFrames;
  private boolean counted;
  private ScheduledFuture<?> delayedClose;

  ConnectionGuard(ServerStreams streams, Http2FrameCodec codec, int connectionWindow, int prematureResetTotalStreamCount,
      long prematureResetMinLifetimeSeconds) {
    this.streams = streams;
    this.codec = codec;
    this.connectionWindow = connectionWindow;
    this.prematureResets = new PrematureResets(prematureResetTotalStreamCount, prematureResetMinLifetimeSeconds);
    streams.guard = this;
  }

  /** Serves this connection's remaining streams with {@code before}, its retired listener's config. */
  void retire(io.keelson.dataplane.routing.ServingSnapshot before) {
    streams.retiredFrom = before;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive()) {
      start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start(ctx);
    ctx.fireChannelActive();
  }

  private void start(ChannelHandlerContext ctx) {
    if (counted) {
      return;
    }
    counted = true;
    windowStart = System.nanoTime();
    listener = streams.snapshot().listener(streams.listenerName);
    if (listener != null) {
      listener.stats().cxTotal.increment();
      listener.stats().cxActive.increment();
      listener.stats().cxHttp2Total.increment();
      listener.stats().cxHttp2Active.increment();
    }
    growConnectionWindow(codec, connectionWindow);
    ctx.flush();
  }

  /** Raises the connection's receive window from the protocol's 65,535 to {@code target}. */
  static void growConnectionWindow(Http2FrameCodec codec, int target) {
    Http2Connection c = codec.connection();
    int delta = target - c.local().flowController().initialWindowSize(c.connectionStream());
    if (delta > 0) {
      try {
        c.local().flowController().incrementWindowSize(c.connectionStream(), delta);
      } catch (Http2Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2PingFrame || msg instanceof Http2SettingsFrame) {
      long now = System.nanoTime();
      if (now - windowStart > CONTROL_WINDOW_NANOS) {
        windowStart = now;
        controlFrames = 0;
      }
      if (++controlFrames > MAX_CONTROL_FRAMES_PER_WINDOW && ctx.channel().isActive()) {
        if (listener != null) {
          listener.stats().rqRejectedBadRequest.increment();
        }
        cutOff(ctx);
      }
    }
    ReferenceCountUtil.release(msg); // connection-level frames end here
  }

  /** GOAWAY ENHANCE_YOUR_CALM, then close once it is written, or {@link #DELAYED_CLOSE_MILLIS} later anyway. */
  private void cutOff(ChannelHandlerContext ctx) {
    cutOff = true;
    ctx.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.ENHANCE_YOUR_CALM))
        .addListener(ChannelFutureListener.CLOSE);
    closeLater(ctx);
  }

  /**
   * Envoy's premature-reset check ({@link PrematureResets}): cut off with GOAWAY ENHANCE_YOUR_CALM once over the limit.
   * Counted here rather than from RST_STREAM frames, so a reset Netty's decoder ignores (its 400-per-10 s budget counts
   * only frames for streams still open) is no escape. Two counter updates per stream.
   */
  @Override
  public void streamClosed(boolean resetBeforeResponse, long lifetimeNanos) {
    if (!prematureResets.overLimit(resetBeforeResponse, lifetimeNanos) || cutOff || ctx == null) {
      return;
    }
    if (!ctx.channel().isActive()) {
      return;
    }
    if (listener != null) {
      listener.stats().rqTooManyPrematureResets.increment();
    }
    if (LOG.isDebugEnabled()) { // once per connection: cut off below
      LOG.debug("HTTP/2 connection {} (client {}) of listener '{}' closed: {} of its {} closed streams were reset "
          + "prematurely (too_many_premature_resets)", ctx.channel().remoteAddress(),
          io.keelson.dataplane.intercept.RemoteAddress.of(ctx.channel()), streams.listenerName,
          prematureResets.premature(), prematureResets.closed()); // the PROXY protocol's client beside the socket's peer
    }
    cutOff(ctx);
  }

  /**
   * Closes the connection {@link #DELAYED_CLOSE_MILLIS} from now unless it closed by then: below the codec,
   * so no further GOAWAY is queued behind the one that could not be written, and what is pending is dropped.
   */
  private void closeLater(ChannelHandlerContext ctx) {
    if (delayedClose == null) {
      ChannelHandlerContext belowCodec = ctx.pipeline().context(codec);
      delayedClose = ctx.executor().schedule(() -> {
        if (belowCodec != null && ctx.channel().isOpen()) {
          belowCodec.close();
        }
      }, DELAYED_CLOSE_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (delayedClose != null) {
      delayedClose.cancel(false);
    }
    if (counted && listener != null) {
      listener.stats().cxActive.decrement();
      listener.stats().cxHttp2Active.decrement();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Protocol errors: the codec sends GOAWAY with the right code and closes once it is written; closing
    // here first would send a graceful GOAWAY(NO_ERROR) instead. Stream errors leave the connection open.
    Http2Exception h2 = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
    if (h2 == null) {
      ctx.close();
    } else if (!(h2 instanceof Http2Exception.StreamException)) {
      closeLater(ctx);
    }
  }
}
