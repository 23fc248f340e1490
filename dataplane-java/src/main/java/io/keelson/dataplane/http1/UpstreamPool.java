package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Idle keep-alive connections to upstream endpoints, owned by one event loop (no locks): a connection
 * is only ever used by exchanges on the loop that opened it. Bounded per endpoint.
 */
final class UpstreamPool {
  /** Idle connections kept per endpoint; more are closed on release. */
  static final int MAX_IDLE_PER_ENDPOINT = 256;

  private final Transport transport;
  private final Map<EndpointConfig, Endpoint> endpoints = new HashMap<>();
  /** Streams to HTTP/2 clusters, created on first use. */
  private io.keelson.dataplane.http2.Http1OverHttp2 http2;

  UpstreamPool(Transport transport) {
    this.transport = transport;
  }

  /** One endpoint's resolved address and idle connections. */
  static final class Endpoint {
    final EndpointConfig config;
    final InetSocketAddress address;
    final ArrayDeque<UpstreamHandler> idle = new ArrayDeque<>();

    Endpoint(EndpointConfig config) {
      this.config = config;
      this.address = new InetSocketAddress(config.host(), config.port());
    }
  }

  Endpoint endpoint(EndpointConfig config) {
    Endpoint e = endpoints.get(config);
    if (e == null) {
      e = new Endpoint(config);
      endpoints.put(config, e);
    }
    return e;
  }

  /** An idle, open connection to the endpoint, or null. */
  UpstreamHandler pollIdle(Endpoint endpoint) {
    UpstreamHandler h;
    while ((h = endpoint.idle.pollLast()) != null) {
      if (h.channel().isActive()) {
        return h;
      }
    }
    return null;
  }

  /**
   * Opens a new connection on {@code loop}; the handler reports the outcome to its owner. For an
   * HTTP/2 cluster it opens a stream on a multiplexed connection instead, translated to HTTP/1.1 bytes
   * for the handler (see {@link io.keelson.dataplane.http2.Http1OverHttp2}).
   */
  io.netty.util.concurrent.Future<?> connect(EventLoop loop, Endpoint endpoint, ServingCluster cluster, UpstreamHandler handler) {
    if (cluster.config().http2Upstream()) {
      if (http2 == null) {
        http2 = new io.keelson.dataplane.http2.Http1OverHttp2(transport);
      }
      return http2.open(loop, endpoint.config, cluster, handler);
    }
    cluster.stats().cxTotal.increment();
    long connectTimeoutMs = Math.max(1, cluster.config().connectTimeout().toMillis());
    return new Bootstrap()
        .group(loop)
        .channel(transport.clientChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeoutMs))
        .handler(handler)
        .connect(endpoint.address);
  }

  /** Returns a connection whose exchange finished cleanly; closes it when the pool is full. */
  void release(UpstreamHandler handler) {
    Endpoint endpoint = handler.endpoint();
    if (endpoint.idle.size() >= MAX_IDLE_PER_ENDPOINT || !handler.channel().isActive()) {
      handler.channel().close();
      return;
    }
    endpoint.idle.addLast(handler);
  }

  /** Called when an idle connection closes. */
  void remove(UpstreamHandler handler) {
    handler.endpoint().idle.remove(handler);
  }
}
