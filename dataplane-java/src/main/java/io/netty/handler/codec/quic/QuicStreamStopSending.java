package io.netty.handler.codec.quic;

/**
 * Whether the peer has sent STOP_SENDING on a QUIC stream, which Netty's QUIC codec (4.2) reports only to a write:
 * quiche answers the stream's capacity with {@code QUICHE_ERR_STREAM_STOPPED}, which Netty keeps package-private. This
 * class lives in Netty's package for that one call (the data plane runs on the class path; Netty's jar is not sealed).
 * Keelson's only class in a Netty package; {@code Http3ClientCancelTest} fails first if a Netty upgrade moves it.
 * On the stream's event loop.
 */
public final class QuicStreamStopSending {
  private QuicStreamStopSending() {
  }

  /**
   * True once the peer has sent STOP_SENDING on {@code stream}, or quiche has already collected the stream (nothing
   * can reach the peer on it any more). One native call, no allocation.
   */
  public static boolean received(QuicStreamChannel stream) {
    if (!(stream instanceof QuicheQuicStreamChannel s) || !s.isOpen()) {
      return false;
    }
    long capacity = s.parent().streamCapacity(s.streamId());
    // quiche answers its reset to STOP_SENDING at once: with the request's FIN read the stream is then complete and
    // soon collected, an id quiche no longer knows
    return capacity == Quiche.QUICHE_ERR_STREAM_STOPPED || capacity == Quiche.QUICHE_ERR_INVALID_STREAM_STATE;
  }
}
