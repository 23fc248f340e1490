package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tls.ClientTls;
import io.keelson.dataplane.tls.UpstreamTlsConfig;
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
  /** Endpoints of TLS clusters, apart: a plaintext connection must never serve a TLS cluster. */
  private final Map<TlsKey, Endpoint> tlsEndpoints = new HashMap<>();
  /**
   * The same endpoints found by the TLS config's identity first: hashing a {@link TlsKey} hashes the whole
   * UpstreamTlsConfig record (PEM sources, SAN matchers, TLS parameters) through record method handles, about
   * 0.2 µs per request on the mTLS bench. A cache only (cleared when it grows); {@link #tlsEndpoints} decides.
   */
  private final Map<UpstreamTlsConfig, Map<EndpointConfig, Endpoint>> tlsEndpointsByIdentity =
      new java.util.IdentityHashMap<>();
  static final int MAX_TLS_CONFIGS_CACHED = 64;
  private final StatsRegistry stats;
  /** Streams to HTTP/2 clusters, created on first use. */
  private io.keelson.dataplane.http2.Http1OverHttp2 http2;
  private final Runnable sweepTask = this::sweep;
  private io.netty.util.concurrent.ScheduledFuture<?> sweep;
  private long sweepAt = Long.MAX_VALUE;

  private record TlsKey(EndpointConfig endpoint, UpstreamTlsConfig tls) {}

  UpstreamPool(Transport transport, StatsRegistry stats) {
    this.transport = transport;
    this.stats = stats;
  }

  /** One endpoint's resolved address and idle connections. */
  static final class Endpoint {
    final EndpointConfig config;
    final InetSocketAddress address;
    final ArrayDeque<UpstreamHandler> idle = new ArrayDeque<>();
    /** When an ORIGINAL_DST host was last used (System.nanoTime); unused for other endpoints. */
    long usedAt;

    Endpoint(EndpointConfig config) {
      this.config = config;
      this.address = config.socketAddress();
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

  /**
   * Clusters with upstream_bind_config keep their connections apart, one partition per source address: a connection
   * bound to 127.0.0.6 (the inbound passthrough's) must never serve a cluster without it, nor the other way round
   * (Envoy's pools are per cluster); a cluster with an extra source address (::6 beside 127.0.0.6) has its own
   * partition per pair ({@link io.keelson.dataplane.config.ClusterConfig#sourceKey}). Event loop only, like the rest.
   */
  private final Map<Object, UpstreamPool> bySource = new HashMap<>();

  /**
   * The endpoint as {@code cluster} reaches it: TLS clusters keep their own idle connections, and so do clusters
   * that bind a source address ({@link #bySource}).
   */
  Endpoint endpoint(EndpointConfig config, ServingCluster cluster) {
    Object source = cluster.config().sourceKey();
    if (source == null) {
      return sharedEndpoint(config, cluster);
    }
    UpstreamPool partition = bySource.get(source);
    if (partition == null) {
      partition = new UpstreamPool(transport, stats);
      bySource.put(source, partition);
    }
    return partition.sharedEndpoint(config, cluster);
  }

  private Endpoint sharedEndpoint(EndpointConfig config, ServingCluster cluster) {
    ClientTls tls = cluster.config().tls(config);
    if (cluster.config().isOriginalDst() && tls == null) {
      return originalDstEndpoint(config, cluster.config().originalDst().cleanupInterval().toNanos());
    }
    if (tls == null) {
      return endpoint(config);
    }
    UpstreamTlsConfig tlsConfig = tls.config();
    Map<EndpointConfig, Endpoint> byEndpoint = tlsEndpointsByIdentity.get(tlsConfig);
    if (byEndpoint == null) {
      if (tlsEndpointsByIdentity.size() >= MAX_TLS_CONFIGS_CACHED) {
        tlsEndpointsByIdentity.clear(); // config pushes made new instances: forget the old ones
      }
      byEndpoint = new HashMap<>();
      tlsEndpointsByIdentity.put(tlsConfig, byEndpoint);
    }
    Endpoint e = byEndpoint.get(config);
    if (e == null) {
      e = tlsEndpoints.computeIfAbsent(new TlsKey(config, tlsConfig), k -> new Endpoint(config));
      byEndpoint.put(config, e);
    }
    return e;
  }

  /**
   * An ORIGINAL_DST cluster's host (a connection's original destination): kept apart, since such hosts come and go
   * with the traffic. As Envoy's cleanup_interval does, a host unused for that long, with no idle connection left, is
   * forgotten; the check runs on a later use once the interval has passed (lazily: no timer per pool).
   */
  private Endpoint originalDstEndpoint(EndpointConfig config, long cleanupNanos) {
    long now = System.nanoTime();
    if (now - originalDstCleanedAt >= cleanupNanos) {
      originalDstCleanedAt = now;
      originalDstEndpoints.values().removeIf(e -> e.idle.isEmpty() && now - e.usedAt >= cleanupNanos);
    }
    Endpoint e = originalDstEndpoints.get(config);
    if (e == null) {
      e = new Endpoint(config);
      originalDstEndpoints.put(config, e);
    }
    e.usedAt = now;
    return e;
  }

  /** ORIGINAL_DST hosts in use, each forgotten after its cluster's cleanup_interval unused (see {@link #originalDstEndpoint}). */
  private final Map<EndpointConfig, Endpoint> originalDstEndpoints = new HashMap<>();
  private long originalDstCleanedAt = System.nanoTime();

  /** The ORIGINAL_DST hosts this pool holds now (for tests). */
  int originalDstHosts() {
    return originalDstEndpoints.size();
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
   * for the handler (see {@link io.keelson.dataplane.http2.Http1OverHttp2}): the stream takes no
   * {@code max_connections} slot, a new HTTP/2 connection takes one of {@code breaker}; null when that
   * is needed and none is free (the caller waits as pending). An HTTP/1.1 connection's slot is the
   * caller's to take.
   */
  io.netty.util.concurrent.Future<?> connect(EventLoop loop, Endpoint endpoint, ServingCluster cluster, UpstreamHandler handler,
      io.keelson.dataplane.resilience.CircuitBreakers.Resources breaker,
      io.keelson.dataplane.config.CircuitBreakerConfig.Thresholds thresholds) {
    if (cluster.config().http2Upstream()) {
      return http2().open(loop, endpoint.config, cluster, handler, breaker, thresholds);
    }
    return connectTcp(loop, endpoint, cluster, handler);
  }

  /**
   * A new TCP connection (TLS for a TLS cluster) to the endpoint, whatever the cluster's HTTP protocol: an HTTP/1.1
   * exchange's, or a terminated CONNECT's raw byte stream ({@link ConnectTunnel}). The slot is the caller's to take.
   */
  io.netty.util.concurrent.Future<?> connectTcp(EventLoop loop, Endpoint endpoint, ServingCluster cluster,
      UpstreamHandler handler) {
    cluster.stats().cxTotal.increment();
    long connectTimeoutMs = Math.max(1, cluster.config().connectTimeout().toMillis());
    ClientTls tls = cluster.config().tls(endpoint.config);
    Bootstrap b = transport.upstream(new Bootstrap()
        .group(loop)
        .channel(transport.clientChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeoutMs))
        .handler(handler), cluster.config(), endpoint.address); // upstream_bind_config, tcp_keepalive
    if (tls == null) {
      return b.connect(endpoint.address);
    }
    return UpstreamTlsConnect.connect(b, endpoint.address, tls, stats.tls("cluster." + cluster.name()));
  }

  private io.keelson.dataplane.http2.Http1OverHttp2 http2() {
    if (http2 == null) {
      http2 = new io.keelson.dataplane.http2.Http1OverHttp2(transport, stats);
    }
    return http2;
  }

  /**
   * Where request_mirror_policies copies of this loop's exchanges go: the loop's upstream channels of
   * the HTTP/2 package (Envoy's shadow is an ordinary request through the shadow cluster's pool).
   */
  io.keelson.dataplane.mirror.ShadowUpstreams shadows() {
    return http2().shadows();
  }

  /** Where filters' side calls (ext_authz checks) of this loop's exchanges go: the loop's upstream channels. */
  io.keelson.dataplane.http2.UpstreamCalls calls() {
    return http2().calls();
  }

  /** Returns a connection whose exchange finished cleanly; closes it when the pool is full. */
  void release(UpstreamHandler handler) {
    Endpoint endpoint = handler.endpoint();
    long now = System.nanoTime();
    if (endpoint.idle.size() >= MAX_IDLE_PER_ENDPOINT || !handler.channel().isActive() || handler.expired(now)
        || (handler.breaker != null && handler.breaker.hasWaiters())) { // requests wait for a slot: free this one
      handler.channel().close();
      return;
    }
    handler.idleSinceNanos = now;
    endpoint.idle.addLast(handler);
    long deadline = handler.idleDeadline();
    if (deadline != Long.MAX_VALUE && deadline < sweepAt) {
      scheduleSweep(handler.channel().eventLoop(), deadline, now);
    }
  }

  private void scheduleSweep(EventLoop loop, long at, long now) {
    if (sweep != null) {
      sweep.cancel(false);
    }
    sweepAt = at;
    sweep = loop.schedule(sweepTask, Math.max(0, at - now), java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** Closes idle connections past the cluster's idle_timeout or max_connection_duration. */
  private void sweep() {
    sweep = null;
    sweepAt = Long.MAX_VALUE;
    long now = System.nanoTime();
    long next = Long.MAX_VALUE;
    EventLoop loop = null;
    for (Endpoint e : (Iterable<Endpoint>) () -> allEndpoints().iterator()) {
      var it = e.idle.iterator();
      while (it.hasNext()) {
        UpstreamHandler h = it.next();
        long deadline = h.idleDeadline();
        if (now - deadline >= 0 || h.expired(now)) {
          it.remove();
          h.channel().close();
        } else {
          next = Math.min(next, deadline);
          loop = h.channel().eventLoop();
        }
      }
    }
    if (loop != null && next != Long.MAX_VALUE) {
      scheduleSweep(loop, next, now);
    }
  }

  /** Every endpoint of this pool and of its source-address partitions. */
  private java.util.stream.Stream<Endpoint> allEndpoints() {
    return java.util.stream.Stream.concat(
        java.util.stream.Stream.of(endpoints.values(), tlsEndpoints.values(), originalDstEndpoints.values())
            .flatMap(java.util.Collection::stream),
        bySource.values().stream().flatMap(UpstreamPool::allEndpoints));
  }

  /** Called when an idle connection closes. */
  void remove(UpstreamHandler handler) {
    handler.endpoint().idle.remove(handler);
  }
}
