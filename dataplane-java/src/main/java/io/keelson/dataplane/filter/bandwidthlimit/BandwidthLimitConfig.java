package io.keelson.dataplane.filter.bandwidthlimit;

/**
 * Envoy's BandwidthLimit as Keelson runs it (the listener's, or a route's or virtual host's, which replaces it whole
 * with its own bucket). Immutable.
 *
 * @param statPrefix       stat_prefix: counters are {@code <stat_prefix>.http_bandwidth_limit.*}
 * @param request          enable_mode paces request bodies
 * @param response         enable_mode paces response bodies
 * @param bytesPerSecond   limit_kbps × 1024, or 0 when unset (the listener's may be: then it paces nothing)
 * @param fillIntervalNanos fill_interval (50 ms by default)
 * @param enabled          runtime_enabled's default_value (true when unset)
 */
record BandwidthLimitConfig(String statPrefix, boolean request, boolean response, long bytesPerSecond,
    long fillIntervalNanos, boolean enabled) {

  /** A new bucket for one direction: a second of the limit, refilled every fill interval. */
  io.keelson.dataplane.filter.ratelimit.TokenBucket bucket(java.util.function.LongSupplier nanoClock) {
    long perFill = Math.max(1, bytesPerSecond * fillIntervalNanos / 1_000_000_000L);
    return new io.keelson.dataplane.filter.ratelimit.TokenBucket(bytesPerSecond, perFill, fillIntervalNanos, nanoClock);
  }

  /** Whether the filter paces anything. */
  boolean active() {
    return enabled && bytesPerSecond > 0 && (request || response);
  }
}
