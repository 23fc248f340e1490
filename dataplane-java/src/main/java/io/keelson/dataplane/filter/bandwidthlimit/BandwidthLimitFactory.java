package io.keelson.dataplane.filter.bandwidthlimit;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FeatureFlags;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.ratelimit.RetainedBuckets;

/**
 * {@code envoy.filters.http.bandwidth_limit}: BandwidthLimit as the filter's typed_config and as a route's or virtual
 * host's typed_per_filter_config (which must set limit_kbps, as Envoy requires, and gets its own buckets). The
 * listener's may leave limit_kbps unset: it then paces nothing. Response trailers (enable_response_trailers) are refused
 * by field. Keeps each compiled filter's buckets for the next snapshot ({@link RetainedBuckets}); thread-safe.
 */
public final class BandwidthLimitFactory implements HttpFilterFactory {
  /** The most a bucket holds (a second of the limit): limit_kbps × 1024 must fit in 32 bits. */
  private static final long MAX_KBPS = 0xFFFF_FFFFL / 1024;
  private static final long DEFAULT_FILL_NANOS = 50_000_000L;

  /**
   * A direction's bucket by where the filter sits (listener, filter name, and a route's override's virtual host and
   * route) and its config: the next snapshot's filter at the same place with an equal config keeps drawing on it, so an
   * xDS push does not refill the buckets (a changed config gets new ones, as Envoy's new filter config does).
   */
  private record BucketKey(String owner, BandwidthLimitConfig config, boolean response) {}

  private static final RetainedBuckets<BucketKey> BUCKETS = new RetainedBuckets<>();

  @Override
  public String filterName() {
    return "envoy.filters.http.bandwidth_limit";
  }

  @Override
  public Class<? extends Message> configType() {
    return BandwidthLimit.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    return read((BandwidthLimit) config, false, path, errors);
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    return read((BandwidthLimit) config, true, path, errors);
  }

  private static BandwidthLimitConfig read(BandwidthLimit c, boolean perRoute, String path, ConfigErrors errors) {
    boolean ok = true;
    if (c.getStatPrefix().isEmpty()) {
      errors.error(path + ".stat_prefix", "required (Envoy requires it): the prefix of the filter's counters");
      ok = false;
    }
    if (perRoute && !c.hasLimitKbps()) {
      errors.error(path + ".limit_kbps", "required on a route or virtual host (Envoy requires it there)");
      ok = false;
    }
    long kbps = c.hasLimitKbps() ? c.getLimitKbps().getValue() : 0;
    if (c.hasLimitKbps() && (kbps < 1 || kbps > MAX_KBPS)) {
      errors.error(path + ".limit_kbps", kbps + " is out of range; expected 1-" + MAX_KBPS + " KiB/s");
      ok = false;
    }
    long fill = DEFAULT_FILL_NANOS;
    if (c.hasFillInterval()) {
      fill = c.getFillInterval().getSeconds() * 1_000_000_000L + c.getFillInterval().getNanos();
      if (fill < 20_000_000L || fill > 1_000_000_000L) {
        errors.error(path + ".fill_interval", "expected 20ms to 1s (Envoy's bounds)");
        ok = false;
      }
    }
    if (c.getEnableResponseTrailers()) {
      errors.error(path + ".enable_response_trailers", "delay trailers are not supported; expected false");
      ok = false;
    }
    Boolean enabled = FeatureFlags.enabled(c.hasRuntimeEnabled(), c.getRuntimeEnabled(), path + ".runtime_enabled", errors);
    if (!ok || enabled == null) {
      return null;
    }
    int mode = c.getEnableModeValue(); // a bitmask: REQUEST 1, RESPONSE 2
    return new BandwidthLimitConfig(c.getStatPrefix(), (mode & 1) != 0, (mode & 2) != 0, kbps * 1024, fill, enabled);
  }

  /** The directions a config that paces anything paces (a route's replaces the listener's whole). */
  @Override
  public int streamedBodies(Object settings) {
    BandwidthLimitConfig c = (BandwidthLimitConfig) settings;
    if (!c.active()) {
      return 0;
    }
    return (c.request() ? STREAMS_REQUEST : 0) | (c.response() ? STREAMS_RESPONSE : 0);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    BandwidthLimitConfig c = (BandwidthLimitConfig) settings;
    if (!c.active()) {
      return context -> { };
    }
    return new BandwidthLimitFilter(c, resources.stats(), response -> BUCKETS.bucket(
        new BucketKey(resources.owner(), c, response), () -> c.bucket(resources.nanoClock())));
  }
}
