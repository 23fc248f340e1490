package io.keelson.dataplane.http2;

import io.keelson.dataplane.http1.ProxyContext;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * What every stream of one HTTP/2 (or HTTP/3) downstream connection shares: the proxy, the listener's name, the
 * event loop's upstream channels, the stream idle timeout, and the count of open streams (the
 * max_concurrent_streams cap, enforced here as well as announced in SETTINGS, since a client may
 * open streams before it has acknowledged them). Event-loop confined.
 */
final class ServerStreams {
  final ProxyContext context;
  final String listenerName;
  final FastThreadLocal<UpstreamChannels> upstreams;
  final long streamIdleNanos;
  final int maxConcurrentStreams;
  /** HTTP/2 or HTTP/3 streams: what is logged as the protocol, how a stream is reset. */
  final DownstreamCodec codec;
  /** The codec's {@code tx_reset} ({@code http3.tx_reset}); null for HTTP/2, whose codec stats are not counted. */
  java.util.concurrent.atomic.LongAdder codecTxReset;
  int open;
  /** The snapshot that still had this connection's listener, once an update removed or replaced it; else null. */
  io.keelson.dataplane.routing.ServingSnapshot retiredFrom;
  /** A GOAWAY is on its way (the listener was retired before the connection chose HTTP/2, or an HTTP/3 drain). */
  boolean goingAway;
  /** HTTP/3: the highest request stream id opened, -1 before the first (a drain's GOAWAY names the next one). */
  long lastStreamId = -1;
  /** The connection's guard, told when each stream closes (the premature-reset check); set by the guard. */
  StreamsGuard guard;

  /** Who each stream's downstream is (applied and copied out on the event loop, one stream head at a time). */
  private io.keelson.dataplane.edge.DownstreamAddress downstream;

  io.keelson.dataplane.edge.DownstreamAddress downstream(io.netty.channel.Channel connection) {
    if (downstream == null) {
      downstream = new io.keelson.dataplane.edge.DownstreamAddress(
          io.keelson.dataplane.intercept.RemoteAddress.of(connection));
    }
    return downstream;
  }

  /** The config this connection's streams are served with: the retired listener's, else the current one. */
  io.keelson.dataplane.routing.ServingSnapshot snapshot() {
    return retiredFrom != null ? retiredFrom : context.snapshot();
  }

  ServerStreams(ProxyContext context, String listenerName, FastThreadLocal<UpstreamChannels> upstreams,
      long streamIdleNanos, int maxConcurrentStreams, DownstreamCodec codec) {
    this.codec = codec;
    this.context = context;
    this.listenerName = listenerName;
    this.upstreams = upstreams;
    this.streamIdleNanos = streamIdleNanos;
    this.maxConcurrentStreams = maxConcurrentStreams;
  }

  ProxyContext context() {
    return context;
  }

  String listenerName() {
    return listenerName;
  }

  FastThreadLocal<UpstreamChannels> upstreams() {
    return upstreams;
  }

  long streamIdleNanos() {
    return streamIdleNanos;
  }
}
