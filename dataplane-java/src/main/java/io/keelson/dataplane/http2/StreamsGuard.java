package io.keelson.dataplane.http2;

/** A downstream connection's guard, told when each of its streams closes (the premature-reset check). Event-loop confined. */
interface StreamsGuard {
  /**
   * A stream closed after {@code lifetimeNanos}; {@code resetBeforeResponse}: the client reset it (HTTP/2 RST_STREAM,
   * QUIC RESET_STREAM or STOP_SENDING) before a response head was sent.
   */
  void streamClosed(boolean resetBeforeResponse, long lifetimeNanos);
}
