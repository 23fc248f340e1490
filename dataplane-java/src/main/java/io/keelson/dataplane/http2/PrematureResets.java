package io.keelson.dataplane.http2;

/**
 * Envoy's premature-reset check for one downstream connection (1.27.1+, {@code ConnectionManagerImpl::isPrematureRstStream}
 * and {@code maybeDrainDueToPrematureResets}), whatever its codec: HTTP/2 ({@link ConnectionGuard}) or HTTP/3
 * ({@link Http3ConnectionGuard}). A client reset before a response head was sent is premature when the stream lived no
 * more than {@code premature_reset_min_stream_lifetime_seconds} whole seconds (Envoy truncates the lifetime to seconds:
 * with the default 1, a reset within 2 s counts). With N = {@code premature_reset_total_stream_count}, the connection
 * is over the limit as soon as premature resets × 2 ≥ N while fewer than N streams have closed, and from then on once
 * premature resets × 2 ≥ the closed streams (half or more of them premature). Event-loop confined.
 */
final class PrematureResets {
  /** Envoy's overload.premature_reset_total_stream_count. */
  private final int totalStreamCount;
  /** Envoy's overload.premature_reset_min_stream_lifetime_seconds. */
  private final long minLifetimeSeconds;
  /** Streams closed on this connection (those refused at max_concurrent_streams never opened). */
  private long closed;
  /** Of those, the ones the client reset prematurely. */
  private long premature;

  PrematureResets(int totalStreamCount, long minLifetimeSeconds) {
    this.totalStreamCount = totalStreamCount;
    this.minLifetimeSeconds = minLifetimeSeconds;
  }

  /**
   * Counts a stream that closed after {@code lifetimeNanos}; {@code resetBeforeResponse}: the client reset it before a
   * response head was sent. True when the connection is now over the limit (and should be cut off).
   */
  boolean overLimit(boolean resetBeforeResponse, long lifetimeNanos) {
    closed++;
    if (resetBeforeResponse && lifetimeNanos / 1_000_000_000L <= minLifetimeSeconds) {
      premature++;
    }
    if (premature == 0) {
      return false;
    }
    long limit = totalStreamCount;
    return closed < limit ? premature * 2 >= limit : premature * 2 >= closed;
  }

  long premature() {
    return premature;
  }

  long closed() {
    return closed;
  }
}
