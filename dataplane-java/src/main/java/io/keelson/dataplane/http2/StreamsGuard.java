package io.keelson.dataplane.http2;

/** A downstream connection's guard, told when each of its streams closes (the premature-reset check). Event-loop confined. */
interface StreamsGuard {
  /**
   * A stream closed after {@code lifetimeNanos}; {@code resetBeforeResponse}: the client reset it (HTTP/2 RST_STREAM or
   * QUIC RESET_STREAM) before a response head was sent. A QUIC STOP_SENDING alone is not seen before the response is
   * written (Netty reports it only to a write), so it never counts here.
   */
  void streamClosed(boolean resetBeforeResponse, long lifetimeNanos);
}
