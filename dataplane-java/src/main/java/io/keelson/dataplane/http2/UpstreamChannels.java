package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The upstream side of the HTTP/2 downstream path, owned by one event loop (no locks): pooled
 * HTTP/1.1 keep-alive connections, and for HTTP/2 clusters multiplexed connections per endpoint that
 * carry up to their stream limit each, a new connection being opened when all are full. A new
 * HTTP/1.1 connection holds a connection slot of its cluster's circuit breaker until it closes.
 */
final class UpstreamChannels {
  static final int MAX_IDLE_PER_ENDPOINT = 256;
  private static final AttributeKey<Object> ENDPOINT = AttributeKey.valueOf("keelson.h2.upstream-endpoint");

  private final Transport transport;
  /** Where TLS clusters' handshake counters go. */
  private final io.keelson.dataplane.stats.StatsRegistry stats;
  /** Keyed by endpoint, or by endpoint and TLS config for TLS clusters (a plaintext connection never serves TLS). */
  private final Map<Object, ArrayDeque<Channel>> idleHttp1 = new HashMap<>();
  private final Map<Object, List<H2UpstreamConnection>> http2 = new HashMap<>();

  private record TlsKey(EndpointConfig endpoint, io.keelson.dataplane.tls.UpstreamTlsConfig tls) {}

  /** Mirrored copies sent through these channels, made on first use. */
  private ShadowSender shadows;

  /** The sender of request_mirror_policies copies over these channels (one per event loop). */
  ShadowSender shadows() {
    if (shadows == null) {
      shadows = new ShadowSender(this);
    }
    return shadows;
  }

  /** Side calls (ext_authz checks) sent through these channels, made on first use. */
  private CallSender calls;

  /** The sender of filters' side calls over these channels (one per event loop). */
  CallSender calls() {
    if (calls == null) {
      calls = new CallSender(this);
    }
    return calls;
  }

  /**
   * The connections of clusters with upstream_bind_config: by endpoint, source address(es) ({@link
   * io.keelson.dataplane.config.ClusterConfig#sourceKey}) and TLS config (or null).
   */
  private record SourceKey(EndpointConfig endpoint, Object source, io.keelson.dataplane.tls.UpstreamTlsConfig tls) {}

  UpstreamChannels(Transport transport) {
    this(transport, new io.keelson.dataplane.stats.StatsRegistry());
  }

  UpstreamChannels(Transport transport, io.keelson.dataplane.stats.StatsRegistry stats) {
    this.transport = transport;
    this.stats = stats;
  }

  private static Object key(EndpointConfig endpoint, ServingCluster cluster) {
    var tls = cluster.config().tls(endpoint);
    var source = cluster.config().sourceKey();
    if (source != null) { // upstream_bind_config: never shared with a cluster that binds another address, or none
      return new SourceKey(endpoint, source, tls == null ? null : tls.config());
    }
    return tls == null ? endpoint : new TlsKey(endpoint, tls.config());
  }

  private io.keelson.dataplane.stats.TlsStats tlsStats(ServingCluster cluster) {
    return stats.tls("cluster." + cluster.name());
  }

  /** Connects {@code b} to {@code endpoint}; over TLS the future completes once the handshake has. */
  ChannelFuture connect(Bootstrap b, InetSocketAddress address, EndpointConfig endpoint, ServingCluster cluster) {
    var tls = cluster.config().tls(endpoint);
    return tls == null ? b.connect(address)
        : io.keelson.dataplane.http1.UpstreamTlsConnect.connect(b, address, tls, tlsStats(cluster));
  }

  /**
   * A channel that carries one exchange for {@code owner}: an HTTP/1.1 connection (HttpClientCodec
   * then an {@link UpstreamRelay}) or an HTTP/2 stream channel (HTTP-object codec then a relay).
   * A new HTTP/1.1 connection takes a connection slot of {@code breaker} ({@code max_connections}),
   * held until it closes; null when none is free and no pooled connection is idle: the caller waits
   * for a slot ({@link io.keelson.dataplane.resilience.ConnectionWait}) and calls again. For an HTTP/2
   * cluster, as Envoy: streams are not connections (max_requests bounds them, taken by the caller); a
   * stream goes on a connection with room, and only a new HTTP/2 connection takes a
   * {@code max_connections} slot (null when none is free: the caller waits as pending, woken when a
   * stream ends or a connection closes).
   */
  Future<Channel> open(EventLoop loop, EndpointConfig endpoint, ServingCluster cluster, UpstreamOwner owner,
      CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds) {
    Promise<Channel> promise = loop.newPromise();
    if (cluster.config().http2Upstream()) {
      H2UpstreamConnection c = connectionFor(loop, endpoint, cluster, breaker, thresholds);
      if (c == null) {
        return null;
      }
      c.openStream(() -> new ChannelHandler[] {new UpstreamRelay(owner)}, promise);
      return promise;
    }
    Object key = key(endpoint, cluster);
    ArrayDeque<Channel> idle = idleHttp1.get(key);
    Channel ch;
    while (idle != null && (ch = idle.pollLast()) != null) {
      if (ch.isActive()) {
        ch.pipeline().get(UpstreamRelay.class).owner(owner);
        return promise.setSuccess(ch);
      }
    }
    if (!breaker.tryAcquireConnection(thresholds)) {
      return null;
    }
    UpstreamRelay relay = new UpstreamRelay(owner);
    relay.breaker = breaker;
    var address = endpoint.socketAddress();
    ChannelFuture f = connect(bootstrap(loop, cluster, address)
        .attr(ENDPOINT, key)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            c.pipeline().addLast(new HttpClientCodec(4096, 64 * 1024, 16 * 1024), relay);
          }
        }), address, endpoint, cluster);
    Channel opened = f.channel();
    opened.closeFuture().addListener(x -> {
      breaker.releaseConnection(); // the slot is held while the connection is open, pooled or not
      ArrayDeque<Channel> d = idleHttp1.get(key);
      if (d != null) {
        d.remove(opened); // a pooled connection the upstream closed
      }
    });
    f.addListener(r -> {
      if (r.isSuccess()) {
        promise.trySuccess(f.channel());
      } else {
        relay.owner(null);
        f.channel().close(); // closed already after a failed connect; makes sure its slot is given back
        promise.tryFailure(r.cause());
      }
    });
    return promise;
  }

  /**
   * A stream on a multiplexed connection to an HTTP/2 cluster's endpoint, its pipeline ending in {@code tail};
   * null when a new connection is needed and {@code breaker} has no {@code max_connections} slot (see {@link #open}).
   */
  Future<Channel> openStream(EventLoop loop, EndpointConfig endpoint, ServingCluster cluster,
      java.util.function.Supplier<ChannelHandler[]> tail, CircuitBreakers.Resources breaker,
      CircuitBreakerConfig.Thresholds thresholds) {
    H2UpstreamConnection c = connectionFor(loop, endpoint, cluster, breaker, thresholds);
    if (c == null) {
      return null;
    }
    Promise<Channel> promise = loop.newPromise();
    c.openStream(tail, promise);
    return promise;
  }

  /** An HTTP/1.1 connection whose exchange ended: pooled when {@code reusable}, else closed. */
  void release(Channel ch, boolean reusable) {
    UpstreamRelay relay = ch.pipeline().get(UpstreamRelay.class);
    if (relay != null) {
      relay.owner(null);
    }
    ch.config().setAutoRead(true);
    if (!reusable || !ch.isActive() || ch instanceof io.netty.handler.codec.http2.Http2StreamChannel
        || (relay != null && relay.breaker != null && relay.breaker.hasWaiters())) { // requests wait for a slot: free this one
      ch.close();
      return;
    }
    // The endpoint is not known from the channel; keyed by its remote address's config at open time.
    Object ep = ch.attr(ENDPOINT).get();
    if (ep == null) {
      ch.close();
      return;
    }
    ArrayDeque<Channel> idle = idleHttp1.computeIfAbsent(ep, e -> new ArrayDeque<>());
    if (idle.size() >= MAX_IDLE_PER_ENDPOINT) {
      ch.close();
      return;
    }
    idle.addLast(ch);
  }

  /**
   * A connection with room for one more stream, or a new one holding a {@code max_connections} slot of
   * {@code breaker} until it closes; null when a new one is needed and no slot is free. As Envoy's pool,
   * one connection is opened past the limit (counted in upstream_cx_overflow) when this event loop has
   * none to the endpoint: pools are per event loop, and the other loops' connections cannot take its
   * streams.
   */
  private H2UpstreamConnection connectionFor(EventLoop loop, EndpointConfig endpoint, ServingCluster cluster,
      CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds) {
    List<H2UpstreamConnection> list = http2.computeIfAbsent(key(endpoint, cluster), e -> new ArrayList<>());
    for (int i = 0; i < list.size(); i++) {
      H2UpstreamConnection c = list.get(i);
      if (c.hasRoom()) {
        return c;
      }
    }
    if (!breaker.tryAcquireConnection(thresholds)) {
      if (!list.isEmpty()) {
        return null;
      }
      cluster.stats().cxOverflow.increment();
      breaker.forceAcquireConnection();
    }
    H2UpstreamConnection c = new H2UpstreamConnection(cluster.config().http2(), cluster.config().idleTimeout(),
        cluster.config().maxRequestsPerConnection(), cluster.config().maxConnectionDuration());
    c.onStreamEnd = () -> {
      if (breaker.hasWaiters()) {
        breaker.wakeWaiters(); // a stream slot is free: requests waiting as pending try again
      }
    };
    list.add(c);
    var address = endpoint.socketAddress();
    Channel parent = c.connect(bootstrap(loop, cluster, address), address,
        (b, to) -> connect(b, to, endpoint, cluster));
    parent.closeFuture().addListener(x -> {
      list.remove(c);
      breaker.releaseConnection(); // the slot is held while the connection is open
    });
    return c;
  }

  /**
   * A new raw TCP connection (TLS for a TLS cluster) to the endpoint for a terminated CONNECT stream
   * ({@link ConnectStream}), whatever the cluster's HTTP protocol; never pooled. Half-closure is allowed (a FIN is an
   * input-shutdown event). The connection's {@code max_connections} slot is the caller's to take and give back.
   */
  ChannelFuture openTcp(EventLoop loop, EndpointConfig endpoint, ServingCluster cluster, ChannelHandler handler) {
    var address = endpoint.socketAddress();
    return connect(bootstrap(loop, cluster, address).option(ChannelOption.ALLOW_HALF_CLOSURE, true).handler(handler),
        address, endpoint, cluster);
  }

  private Bootstrap bootstrap(EventLoop loop, ServingCluster cluster, InetSocketAddress destination) {
    cluster.stats().cxTotal.increment();
    long connectTimeoutMs = Math.max(1, cluster.config().connectTimeout().toMillis());
    return transport.upstream(new Bootstrap()
        .group(loop)
        .channel(transport.clientChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeoutMs)),
        cluster.config(), destination); // upstream_bind_config, tcp_keepalive
  }
}
