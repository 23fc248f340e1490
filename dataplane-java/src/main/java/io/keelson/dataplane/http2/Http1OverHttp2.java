package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/**
 * Lets the HTTP/1.1 downstream path use an HTTP/2 cluster unchanged: each exchange gets a stream on a
 * multiplexed h2c connection, and an adapter in the stream's pipeline turns the HTTP/1.1 request
 * bytes the path writes into HTTP/2 frames and the response frames back into HTTP/1.1 bytes (with
 * trailers as chunked trailers). Owned by one event loop, like the pool that holds it.
 */
public final class Http1OverHttp2 {
  /** On a stream channel the upstream reset: the RST_STREAM error code. */
  static final io.netty.util.AttributeKey<Long> RESET_CODE = io.netty.util.AttributeKey.valueOf("keelson.h1-over-h2.reset");

  private final UpstreamChannels channels;

  public Http1OverHttp2(Transport transport) {
    this.channels = new UpstreamChannels(transport);
  }

  /** With the registry that TLS clusters' handshake counters go to. */
  public Http1OverHttp2(Transport transport, io.keelson.dataplane.stats.StatsRegistry stats) {
    this.channels = new UpstreamChannels(transport, stats);
  }

  /**
   * Where the HTTP/1.1 downstream path's request_mirror_policies copies go: this event loop's upstream
   * channels (pooled HTTP/1.1 connections, multiplexed HTTP/2 connections, each over the cluster's TLS).
   */
  public io.keelson.dataplane.mirror.ShadowUpstreams shadows() {
    return channels.shadows();
  }

  /** Where filters' side calls (ext_authz checks) of the HTTP/1.1 downstream path go: this event loop's upstream channels. */
  public UpstreamCalls calls() {
    return channels.calls();
  }

  /**
   * The RST_STREAM error code the upstream reset {@code stream} with (e.g. 7, REFUSED_STREAM), or -1 when it was not
   * reset (a connection that went away, or not a stream of this class). Read once the channel is inactive.
   */
  public static long resetCode(Channel stream) {
    Long code = stream.hasAttr(RESET_CODE) ? stream.attr(RESET_CODE).get() : null;
    return code == null ? -1 : code;
  }

  /**
   * Whether {@code ch} is a stream of this class carrying an upgrade tunnel (an HTTP/1.1 WebSocket sent as extended
   * CONNECT), whose halves end apart: {@link #endTunnelOutput} passes the client's FIN on as END_STREAM, and the
   * upstream's END_STREAM arrives as a ChannelInputShutdownEvent.
   */
  public static boolean isTunnelStream(Channel ch) {
    return !(ch instanceof io.netty.channel.socket.DuplexChannel) && Http1StreamAdapter.isTunnel(ch);
  }

  /** END_STREAM toward the upstream, behind the tunnel bytes written so far; once. Call on the stream's event loop. */
  public static void endTunnelOutput(Channel stream) {
    Http1StreamAdapter.endTunnelOutput(stream);
  }

  /** Whether {@link #endTunnelOutput} ended the stream's sending half. */
  public static boolean tunnelOutputEnded(Channel stream) {
    return Http1StreamAdapter.tunnelOutputEnded(stream);
  }

  /**
   * Opens a stream to {@code endpoint} whose pipeline ends in {@code http1Handler} (which reads and
   * writes HTTP/1.1 bytes). The future gets the stream channel; null when a new HTTP/2 connection is needed
   * and {@code breaker} has no {@code max_connections} slot (the caller waits as pending). On the event loop
   * {@code loop}.
   */
  public Future<Channel> open(EventLoop loop, EndpointConfig endpoint, ServingCluster cluster, ChannelHandler http1Handler,
      io.keelson.dataplane.resilience.CircuitBreakers.Resources breaker,
      io.keelson.dataplane.config.CircuitBreakerConfig.Thresholds thresholds) {
    boolean extendedConnect = cluster.config().http2().allowConnect();
    boolean tls = cluster.config().tls(endpoint) != null;
    return channels.openStream(loop, endpoint, cluster,
        () -> new ChannelHandler[] {new Http1StreamAdapter(extendedConnect, tls), http1Handler}, breaker, thresholds);
  }
}
