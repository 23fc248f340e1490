package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.util.concurrent.Future;

/**
 * Sends side calls ({@link UpstreamCalls}) through one event loop's {@link UpstreamChannels}, like
 * {@link ShadowSender} sends mirrored copies: a call takes a {@code max_requests} slot of the cluster's
 * default-priority breakers for its whole exchange and a {@code max_pending_requests} slot until it has
 * a channel; where Envoy would queue, the call fails at once instead (it never waits), counted in the
 * cluster's {@code upstream_rq_pending_overflow} (or {@code upstream_cx_overflow}). Confined to the loop.
 */
final class CallSender implements UpstreamCalls {
  private final UpstreamChannels channels;

  CallSender(UpstreamChannels channels) {
    this.channels = channels;
  }

  /** The event loop's upstream channels these calls go through (a tcp_proxy tunnel's streams share them). */
  UpstreamChannels channels() {
    return channels;
  }

  @Override
  public Call call(EventLoop loop, ServingCluster cluster, EndpointConfig endpoint, FullHttpRequest request,
      long timeoutNanos, int maxBodyBytes, Callback callback) {
    CircuitBreakerConfig.Thresholds thresholds = cluster.config().circuitBreakers().defaultPriority();
    CircuitBreakers.Resources breaker = cluster.resilience().breakers().of(false);
    if (!breaker.tryAcquireRequest(thresholds)) {
      overflow(cluster, request, callback);
      return Call.ENDED;
    }
    if (!breaker.tryAcquirePending(thresholds)) {
      breaker.releaseRequest();
      overflow(cluster, request, callback);
      return Call.ENDED;
    }
    CallStream s = new CallStream(channels, cluster, breaker, request, maxBodyBytes, callback);
    Future<Channel> f = channels.open(loop, endpoint, cluster, s, breaker, thresholds);
    if (f == null) { // max_connections reached and no idle connection: a side call does not wait
      cluster.stats().cxOverflow.increment();
      s.fail("upstream connection overflow");
      return Call.ENDED;
    }
    s.startTimer(loop, timeoutNanos);
    f.addListener(s::onOpen);
    return s;
  }

  private static void overflow(ServingCluster cluster, FullHttpRequest request, Callback callback) {
    cluster.stats().rqPendingOverflow.increment();
    request.release();
    callback.onFailure("upstream request overflow");
  }
}
