package io.netty.handler.codec.quic;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.Queue;

/**
 * Whether the peer has sent STOP_SENDING on a QUIC stream, which Netty's QUIC codec (4.2) reports only to a write:
 * quiche answers the stream's capacity with {@code QUICHE_ERR_STREAM_STOPPED}, which Netty keeps package-private; and
 * which connections a batch of datagrams reached (the codec's private read-complete queue), so that only their streams
 * are asked. This class lives in Netty's package for those (the data plane runs on the class path; Netty's jar is not
 * sealed); both are looked up once, and {@link #unavailabilityCause} says why when a Netty upgrade removed one.
 * Keelson's only class in a Netty package. On the streams' event loop.
 */
public final class QuicStreamStopSending {
  /** {@link #state}: the stream is open on both sides as far as quiche knows. */
  public static final int OPEN = 0;
  /** {@link #state}: the peer sent STOP_SENDING (quiche may already have answered it and collected the stream). */
  public static final int STOPPED = 1;
  /** {@link #state}: quiche collected the stream after its response was sent in full: nothing was stopped. */
  public static final int COMPLETED = 2;

  private static final MethodHandle STREAM_CAPACITY;
  private static final VarHandle READ_COMPLETE_QUEUE;
  private static final String UNAVAILABLE;

  static {
    MethodHandle capacity = null;
    VarHandle queue = null;
    String cause = null;
    try {
      capacity = MethodHandles.lookup().findVirtual(QuicheQuicChannel.class, "streamCapacity",
          MethodType.methodType(long.class, long.class));
      queue = MethodHandles.privateLookupIn(QuicheQuicCodec.class, MethodHandles.lookup())
          .findVarHandle(QuicheQuicCodec.class, "needsFireChannelReadComplete", Queue.class);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      cause = e.toString();
    }
    STREAM_CAPACITY = capacity;
    READ_COMPLETE_QUEUE = queue;
    UNAVAILABLE = cause;
  }

  private QuicStreamStopSending() {
  }

  /** Null when this Netty has what the watch needs; otherwise what is missing. */
  public static String unavailabilityCause() {
    return UNAVAILABLE;
  }

  /**
   * {@link #OPEN}, {@link #STOPPED} or {@link #COMPLETED} for {@code stream}, whose request has been read in full.
   * One native call, no allocation. Only when {@link #unavailabilityCause} is null.
   */
  public static int state(QuicStreamChannel stream) {
    if (!(stream instanceof QuicheQuicStreamChannel s) || !s.isOpen()) {
      return OPEN;
    }
    long capacity;
    try {
      capacity = (long) STREAM_CAPACITY.invokeExact((QuicheQuicChannel) s.parent(), s.streamId());
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
    if (capacity == Quiche.QUICHE_ERR_STREAM_STOPPED) {
      return STOPPED;
    }
    if (capacity == Quiche.QUICHE_ERR_INVALID_STREAM_STATE) {
      // quiche collected the stream: both sides complete. Without our FIN that is quiche's RESET_STREAM answering the
      // peer's STOP_SENDING (with the request's FIN read the stream is then complete); with it, the response ended
      return s.isOutputShutdown() ? COMPLETED : STOPPED;
    }
    return OPEN;
  }

  /**
   * Adds to {@code out} the connections that {@code codec} (a QUIC codec) received datagrams for since its last
   * read-complete: call before passing the read-complete on to it. Allocation-free but for the queue's iterator.
   */
  public static void connectionsInBatch(io.netty.channel.ChannelHandler codec, List<QuicChannel> out) {
    if (!(codec instanceof QuicheQuicCodec)) {
      return;
    }
    @SuppressWarnings("unchecked")
    Queue<QuicChannel> queue = (Queue<QuicChannel>) READ_COMPLETE_QUEUE.get(codec);
    for (QuicChannel c : queue) {
      out.add(c);
    }
  }
}
