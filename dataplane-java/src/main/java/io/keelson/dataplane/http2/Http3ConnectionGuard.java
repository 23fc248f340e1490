package io.keelson.dataplane.http2;

import io.keelson.dataplane.routing.ServingListener;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.quic.QuicChannel;

/**
 * An HTTP/3 connection's premature-reset check, as {@link ConnectionGuard}'s for HTTP/2 and Envoy's connection manager
 * for any codec: once the client has reset too many of its streams before their responses ({@link PrematureResets}),
 * the QUIC connection is closed with {@code H3_EXCESSIVE_LOAD} and counted in the serving connection manager's
 * {@code downstream_rq_too_many_premature_resets}. Event-loop confined (the connection's).
 */
final class Http3ConnectionGuard implements StreamsGuard {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Http3ConnectionGuard.class);

  private final QuicChannel connection;
  private final PrematureResets prematureResets;
  /** The streams of the connection manager serving the connection (the SNI may choose another chain's). */
  private ServerStreams streams;
  private boolean cutOff;

  Http3ConnectionGuard(QuicChannel connection, int totalStreamCount, long minLifetimeSeconds) {
    this.connection = connection;
    this.prematureResets = new PrematureResets(totalStreamCount, minLifetimeSeconds);
  }

  /** Guards {@code s}, the connection's streams from now on. */
  ServerStreams guard(ServerStreams s) {
    s.guard = this;
    streams = s;
    return s;
  }

  @Override
  public void streamClosed(boolean resetBeforeResponse, long lifetimeNanos) {
    if (!prematureResets.overLimit(resetBeforeResponse, lifetimeNanos) || cutOff || !connection.isOpen()) {
      return;
    }
    cutOff = true;
    ServingListener served = streams.snapshot().listener(streams.listenerName());
    if (served != null) {
      served.stats().rqTooManyPrematureResets.increment();
    }
    if (LOG.isDebugEnabled()) { // once per connection: closed below
      LOG.debug("HTTP/3 connection {} of listener '{}' closed: {} of its {} closed streams were reset prematurely "
          + "(too_many_premature_resets)", connection.remoteSocketAddress(), streams.listenerName(),
          prematureResets.premature(), prematureResets.closed());
    }
    // after the closing stream's own events: closing the connection from inside them would re-enter its streams
    connection.eventLoop().execute(
        () -> connection.close(true, Http3ErrorCode.H3_EXCESSIVE_LOAD.code(), Unpooled.EMPTY_BUFFER));
  }
}
