package io.keelson.dataplane.http2;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamStopSending;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Sees a client's STOP_SENDING on the request streams of one HTTP/3 listener socket whose requests have ended (their
 * FIN read) and whose responses are still to come: such a stream reads nothing more, and Netty's QUIC codec tells of
 * STOP_SENDING only to a write, so a client giving up on a slow response would leave its upstream request running
 * (Envoy resets it). Sits on the UDP channel before the QUIC codec: after each batch of datagrams the codec has
 * processed, the watched streams of the connections that batch reached are asked (one native call each) and a stopped
 * one gets {@link #PEER_STOPPED}, which {@link Http3RequestDecoder} treats as the client's reset. At most
 * {@link #CHECKS_PER_TURN} streams are asked per event-loop turn: the rest, round-robin, on the next turn. Each check
 * counts in {@code http3.stop_sending_checks}. Event-loop confined (the socket's, which is also its connections' and
 * streams').
 */
final class Http3StopSendingWatch extends ChannelInboundHandlerAdapter {
  /** The user event a stream the client stopped gets. */
  static final Object PEER_STOPPED = new Object() {
    @Override
    public String toString() {
      return "HTTP/3 client STOP_SENDING";
    }
  };
  static final int CHECKS_PER_TURN = 1024;

  private final ChannelHandler codec;
  private final LongAdder checks;
  private final Map<QuicChannel, Watched> byConnection = new HashMap<>();
  /** Connections with streams still to ask, in order; each at most once ({@link Watched#queued}). */
  private final ArrayDeque<Watched> due = new ArrayDeque<>();
  private final List<QuicChannel> batch = new ArrayList<>();
  private final List<QuicStreamChannel> stopped = new ArrayList<>();
  private ChannelHandlerContext ctx;
  private boolean turnScheduled;

  /** {@code codec}: the QUIC codec after this handler, whose connections are watched. */
  Http3StopSendingWatch(ChannelHandler codec, LongAdder checks) {
    this.codec = codec;
    this.checks = checks;
  }

  /** One connection's watched streams, asked in turn. */
  private static final class Watched {
    final ArrayDeque<QuicStreamChannel> streams = new ArrayDeque<>(4);
    /** How many of {@link #streams} are still to ask for the batches that reached the connection. */
    int toCheck;
    boolean queued;
  }

  @Override
  public boolean isSharable() {
    return false;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /** Watches {@code stream} until it closes. */
  void watch(QuicStreamChannel stream) {
    QuicChannel connection = stream.parent();
    Watched w = byConnection.computeIfAbsent(connection, c -> new Watched());
    if (w.streams.contains(stream)) {
      return;
    }
    w.streams.add(stream);
    stream.closeFuture().addListener(f -> {
      w.streams.remove(stream);
      if (w.streams.isEmpty()) {
        byConnection.remove(connection, w);
      }
    });
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (!byConnection.isEmpty()) {
      QuicStreamStopSending.connectionsInBatch(codec, batch); // before the codec empties its queue
    }
    ctx.fireChannelReadComplete(); // the QUIC codec processes the batch's frames
    for (int i = 0; i < batch.size(); i++) {
      Watched w = byConnection.get(batch.get(i));
      if (w != null) {
        w.toCheck = w.streams.size();
        if (!w.queued) {
          w.queued = true;
          due.add(w);
        }
      }
    }
    batch.clear();
    checkDue();
  }

  /** Asks up to {@link #CHECKS_PER_TURN} due streams; schedules the rest for the loop's next turn. */
  private void checkDue() {
    int budget = CHECKS_PER_TURN;
    while (budget > 0 && !due.isEmpty()) {
      Watched w = due.peek();
      while (budget > 0 && w.toCheck > 0 && !w.streams.isEmpty()) {
        QuicStreamChannel s = w.streams.poll();
        w.streams.add(s); // round-robin within the connection
        w.toCheck--;
        budget--;
        if (QuicStreamStopSending.state(s) == QuicStreamStopSending.STOPPED) {
          stopped.add(s); // told after the loop: the event closes the stream, which leaves the set
        }
      }
      if (w.toCheck <= 0 || w.streams.isEmpty()) {
        w.queued = false;
        w.toCheck = 0;
        due.poll();
      }
    }
    if (budget < CHECKS_PER_TURN) {
      checks.add(CHECKS_PER_TURN - budget);
    }
    for (int i = 0; i < stopped.size(); i++) {
      stopped.get(i).pipeline().fireUserEventTriggered(PEER_STOPPED);
    }
    stopped.clear();
    if (!due.isEmpty() && !turnScheduled) {
      turnScheduled = true;
      ctx.channel().eventLoop().execute(() -> {
        turnScheduled = false;
        checkDue();
      });
    }
  }
}
