package io.keelson.dataplane.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.concurrent.atomic.LongAdder;

/**
 * Relays bytes both ways between two connected channels on the same event loop: what one side
 * reads the other writes; a side whose peer is not writable stops reading (backpressure); a FIN on
 * one side half-closes the other (a tunnel's HTTP/2 stream, {@link TunnelFrames}: END_STREAM both ways); a full close or an idle timeout closes both. Event-loop confined.
 */
public final class TcpRelay {
  /** Told once when the relay ends, with the bytes each way. */
  public interface Listener {
    void onClosed(long downstreamToUpstream, long upstreamToDownstream, boolean idleTimeout);
  }

  /**
   * Counters the relay adds to (any may be null): bytes read from each side (each added to every
   * adder of its array), and downstream reads paused / resumed for backpressure.
   */
  public record Counters(LongAdder[] downstreamRead, LongAdder[] upstreamRead, LongAdder pausedReading, LongAdder resumedReading) {
    public static final Counters NONE = new Counters(null, null, null, null);
  }

  private final Channel downstream;
  private final Channel upstream;
  private final Listener listener;
  private final Counters counters;
  private long down;
  private long up;
  private boolean closed;
  private boolean idle;

  private TcpRelay(Channel downstream, Channel upstream, Listener listener, Counters counters) {
    this.downstream = downstream;
    this.upstream = upstream;
    this.listener = listener;
    this.counters = counters;
  }

  /**
   * Joins two channels (both on the caller's event loop) with a relay handler at the end of each
   * pipeline; turns auto-read on for both. Bytes already read must be written by the caller first.
   *
   * @return the relay (its byte counts and state are for the channels' event loop only)
   */
  public static TcpRelay join(Channel downstream, Channel upstream, Listener listener, Counters counters) {
    TcpRelay r = new TcpRelay(downstream, upstream, listener, counters);
    downstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    upstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    downstream.pipeline().addLast("relay", r.new Side(upstream, true));
    upstream.pipeline().addLast("relay", r.new Side(downstream, false));
    setReading(downstream, true);
    setReading(upstream, true);
    return r;
  }

  /** Bytes read from the downstream so far. On the event loop. */
  long downstreamBytes() {
    return down;
  }

  /** Bytes read from the upstream so far. On the event loop. */
  long upstreamBytes() {
    return up;
  }

  /** Whether the relay has ended. On the event loop. */
  boolean isClosed() {
    return closed;
  }

  /** Turns reading on or off; never on a channel whose input is already shut (epoll would fail). */
  private static void setReading(Channel ch, boolean on) {
    if (on && ch instanceof DuplexChannel d && d.isInputShutdown()) {
      return;
    }
    if (ch.config().isAutoRead() != on) {
      ch.config().setAutoRead(on);
    }
    if (on) {
      ch.read();
    }
  }

  private void closeBoth() {
    if (closed) {
      return;
    }
    closed = true;
    downstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    if (listener != null) {
      listener.onClosed(down, up, idle);
    }
  }

  private static void add(LongAdder a, long n) {
    if (a != null) {
      a.add(n);
    }
  }

  private static void add(LongAdder[] all, long n) {
    if (all != null) {
      for (LongAdder a : all) {
        a.add(n);
      }
    }
  }

  /** One side's handler: reads here, writes to {@code peer}. */
  private final class Side extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    private final boolean isDownstream;

    Side(Channel peer, boolean isDownstream) {
      this.peer = peer;
      this.isDownstream = isDownstream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        io.netty.util.ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      if (isDownstream) {
        down += n;
        add(counters.downstreamRead(), n);
      } else {
        up += n;
        add(counters.upstreamRead(), n);
      }
      peer.write(buf, peer.voidPromise());
      if (!peer.isWritable()) {
        peer.flush();
        if (!peer.isWritable() && ctx.channel().config().isAutoRead()) {
          ctx.channel().config().setAutoRead(false);
          if (isDownstream) {
            add(counters.pausedReading(), 1);
          }
        }
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      peer.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      boolean writable = ctx.channel().isWritable();
      if (peer.config().isAutoRead() != writable) {
        setReading(peer, writable);
        if (!isDownstream) {
          add(writable ? counters.resumedReading() : counters.pausedReading(), 1);
        }
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        // FIN from this side: pass it on once everything read so far is written.
        passFin(peer);
        if (ctx.channel() instanceof DuplexChannel self ? self.isOutputShutdown() : TunnelFrames.outputEnded(ctx.channel())) {
          closeBoth(); // both directions finished
        }
        return;
      }
      if (evt instanceof IdleStateEvent) {
        idle = true;
        closeBoth();
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      closeBoth();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      closeBoth();
    }
  }

  /**
   * Passes a FIN on to {@code peer} once what was written to it so far is: a socket's shutdownOutput, or END_STREAM on a
   * tunnel's HTTP/2 stream. Nothing when {@code peer} is closed. Call on {@code peer}'s event loop.
   */
  static void passFin(Channel peer) {
    if (!peer.isActive()) {
      return;
    }
    if (peer instanceof DuplexChannel d) {
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> d.shutdownOutput());
    } else {
      peer.flush();
      TunnelFrames.endStream(peer);
    }
  }
}
