package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.mirror.MirrorCounters;
import io.keelson.dataplane.mirror.ShadowUpstreams;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.util.concurrent.Future;

/**
 * Sends mirrored copies the way Envoy does: as ordinary upstream requests of the shadow cluster through
 * one event loop's {@link UpstreamChannels} — the cluster's transport socket (TLS through
 * {@code UpstreamTlsConnect}, with the cluster's certificates, SAN checks and SNI; cleartext without
 * one), HTTP/2 streams on the multiplexed connections for a cluster with HTTP/2 options, pooled
 * keep-alive HTTP/1.1 connections otherwise. The cluster's default-priority circuit breakers apply:
 * a copy takes a {@code max_requests} slot for its whole exchange and a {@code max_pending_requests}
 * slot until it has a connection or stream; a new HTTP/1.1 connection needs a {@code max_connections}
 * slot. Where Envoy would queue, a copy is dropped instead (it never waits): counted in the cluster's
 * {@code upstream_rq_pending_overflow} (or {@code upstream_cx_overflow}) and {@code mirror_rq_overflow}.
 * Confined to the event loop that owns the channels.
 */
public final class ShadowSender implements ShadowUpstreams {
  private final UpstreamChannels channels;

  ShadowSender(UpstreamChannels channels) {
    this.channels = channels;
  }

  @Override
  public void send(EventLoop loop, ServingCluster cluster, EndpointConfig endpoint, FullHttpRequest copy,
      MirrorCounters counters, long timeoutNanos) {
    CircuitBreakerConfig.Thresholds thresholds = cluster.config().circuitBreakers().defaultPriority();
    CircuitBreakers.Resources breaker = cluster.resilience().breakers().of(false);
    if (!breaker.tryAcquireRequest(thresholds)) {
      overflow(cluster, counters, copy);
      return;
    }
    if (!breaker.tryAcquirePending(thresholds)) {
      breaker.releaseRequest();
      overflow(cluster, counters, copy);
      return;
    }
    ShadowStream s = new ShadowStream(channels, cluster, breaker, copy, counters, timeoutNanos);
    Future<Channel> f = channels.open(loop, endpoint, cluster, s, breaker, thresholds);
    if (f == null) { // max_connections reached and no idle connection: Envoy would queue; a copy does not wait
      cluster.stats().cxOverflow.increment();
      s.dropped();
      return;
    }
    f.addListener(s::onOpen);
  }

  private static void overflow(ServingCluster cluster, MirrorCounters counters, FullHttpRequest copy) {
    cluster.stats().rqPendingOverflow.increment();
    counters.overflow().increment();
    copy.release();
  }
}
