package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
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
    if (!acquire(cluster, breaker, thresholds)) {
      request.release();
      callback.onFailure(OVERFLOW);
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

  /** As {@link #call}, on an HTTP/2 stream only (a bidirectional gRPC stream has no HTTP/1.1 form). */
  @Override
  public Stream stream(EventLoop loop, ServingCluster cluster, EndpointConfig endpoint, HttpRequest head,
      StreamCallback callback) {
    CircuitBreakerConfig.Thresholds thresholds = cluster.config().circuitBreakers().defaultPriority();
    CircuitBreakers.Resources breaker = cluster.resilience().breakers().of(false);
    if (!cluster.config().http2Upstream()) {
      callback.onFailure("cluster " + cluster.name() + " is not HTTP/2: a bidirectional stream needs HTTP/2");
      return ENDED_STREAM;
    }
    if (!acquire(cluster, breaker, thresholds)) {
      callback.onFailure(OVERFLOW);
      return ENDED_STREAM;
    }
    StreamedCall s = new StreamedCall(cluster, breaker, head, callback);
    Future<Channel> f = channels.open(loop, endpoint, cluster, s, breaker, thresholds);
    if (f == null) {
      cluster.stats().cxOverflow.increment();
      s.fail("upstream connection overflow");
      return ENDED_STREAM;
    }
    f.addListener(s::onOpen);
    return s;
  }

  /**
   * Takes a max_requests and a max_pending_requests slot of {@code breaker}; false (none taken, counted in the
   * cluster's upstream_rq_pending_overflow) when either is full.
   */
  private static boolean acquire(ServingCluster cluster, CircuitBreakers.Resources breaker,
      CircuitBreakerConfig.Thresholds thresholds) {
    if (!breaker.tryAcquireRequest(thresholds)) {
      cluster.stats().rqPendingOverflow.increment();
      return false;
    }
    if (!breaker.tryAcquirePending(thresholds)) {
      breaker.releaseRequest();
      cluster.stats().rqPendingOverflow.increment();
      return false;
    }
    return true;
  }

  private static final String OVERFLOW = "upstream request overflow";

  /** A stream that ended before it started: nothing to send on or cancel. */
  private static final Stream ENDED_STREAM = new Stream() {
    @Override
    public void send(io.netty.buffer.ByteBuf data) {
      data.release();
    }

    @Override
    public void halfClose() {}

    @Override
    public void cancel() {}
  };
}
