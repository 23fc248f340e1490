package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * Frame-level HTTP/2 streams for tcp_proxy's tunneling_config: a stream on the event loop's multiplexed connections to
 * an HTTP/2 cluster's endpoint (the same pooled connections the loop's HTTP/2 requests and side calls use), whose
 * pipeline is {@code handler} alone: it reads and writes HTTP/2 frames. Called on {@code loop} only.
 */
public final class TunnelStreams {
  private TunnelStreams() {}

  /**
   * Opens the stream; null when a new HTTP/2 connection is needed and {@code breaker} has no {@code max_connections}
   * slot.
   *
   * @param calls the loop's side calls (tcp/TcpProxyContext.calls()), whose upstream channels carry the stream
   */
  public static Future<Channel> open(UpstreamCalls calls, EventLoop loop, EndpointConfig endpoint, ServingCluster cluster,
      ChannelHandler handler, CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds) {
    if (!(calls instanceof CallSender sender)) {
      throw new IllegalStateException("tunnel streams need the proxy's per-event-loop upstream channels, not " + calls);
    }
    return open(sender.channels(), loop, endpoint, cluster, breaker, thresholds, handler);
  }

  /** {@link #open(UpstreamCalls, EventLoop, EndpointConfig, ServingCluster, ChannelHandler, CircuitBreakers.Resources,
   *  CircuitBreakerConfig.Thresholds)} on the loop's upstream channels, with {@code handlers} in that order. */
  static Future<Channel> open(UpstreamChannels channels, EventLoop loop, EndpointConfig endpoint, ServingCluster cluster,
      CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds, ChannelHandler... handlers) {
    Future<Channel> opened = channels.openStream(loop, endpoint, cluster, () -> handlers, breaker, thresholds);
    if (opened == null) {
      return null;
    }
    Promise<Channel> framed = loop.newPromise();
    opened.addListener(f -> {
      if (!f.isSuccess()) {
        framed.tryFailure(f.cause());
        return;
      }
      Channel stream = (Channel) f.getNow();
      stream.pipeline().remove(Http2StreamFrameToHttpObjectCodec.class); // nothing was read or written yet
      framed.trySuccess(stream);
    });
    return framed;
  }
}
