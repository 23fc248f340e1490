package io.keelson.dataplane.filter.bandwidthlimit;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.StreamedBodyCheck;
import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's bandwidth_limit filter for one config: the request body, the response body or both stream through a
 * {@link PacedBody} drawing on the config's buckets (one per direction, shared by every request the config applies to,
 * on every event loop, as Envoy's shared token bucket). Counters {@code <stat_prefix>.http_bandwidth_limit.
 * {request,response}_{enabled,enforced,allowed_total_size,stream_conflicts}} (the last Keelson's: the body was
 * already streamed by another filter, and the exchange failed closed). Immutable apart from its buckets and counters; thread-safe.
 */
final class BandwidthLimitFilter implements HttpFilter {
  private final Direction request;
  private final Direction response;

  /** @param buckets the bucket of a direction ({@code true}: the response's) */
  BandwidthLimitFilter(BandwidthLimitConfig config, StatsRegistry stats,
      java.util.function.Function<Boolean, TokenBucket> buckets) {
    String p = config.statPrefix() + ".http_bandwidth_limit.";
    this.request = config.request() ? new Direction(buckets.apply(false), stats, p + "request_") : null;
    this.response = config.response() ? new Direction(buckets.apply(true), stats, p + "response_") : null;
  }

  /** The request's bucket (null when requests are not paced); for tests. */
  TokenBucket requestBucket() {
    return request == null ? null : request.bucket;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (request != null) {
      request.enabled.increment();
      request.stream(context.streamRequestBody(request));
    }
    if (response != null) {
      response.enabled.increment();
      response.stream(context.streamResponseBody(response));
    }
  }

  /** One direction's bucket and counters; starts a paced body per exchange. */
  private static final class Direction implements StreamedBodyCheck {
    final TokenBucket bucket;
    final LongAdder enabled;
    final LongAdder enforced;
    final LongAdder allowed;
    final LongAdder conflicts;

    Direction(TokenBucket bucket, StatsRegistry stats, String prefix) {
      this.bucket = bucket;
      this.enabled = stats.counter(prefix + "enabled");
      this.enforced = stats.counter(prefix + "enforced");
      this.allowed = stats.counter(prefix + "allowed_total_size");
      this.conflicts = stats.counter(prefix + "stream_conflicts");
    }

    /** Counts a refused stream: another filter (ext_proc STREAMED) streams this body; the exchange fails closed. */
    void stream(boolean accepted) {
      if (!accepted) {
        conflicts.increment();
      }
    }

    @Override
    public Body start(io.netty.channel.EventLoop loop, io.keelson.dataplane.http2.UpstreamCalls calls,
        io.keelson.dataplane.routing.ServingSnapshot snapshot, Sink sink) {
      return new PacedBody(loop, sink, bucket, enforced, allowed);
    }
  }
}
