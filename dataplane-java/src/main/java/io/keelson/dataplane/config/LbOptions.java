package io.keelson.dataplane.config;

/**
 * A cluster's load-balancing options besides lb_policy. Immutable.
 *
 * @param healthyPanicThreshold common_lb_config.healthy_panic_threshold in percent (Envoy default 50):
 *                              below this share of healthy endpoints, health is ignored
 * @param minRingSize           ring_hash_lb_config.minimum_ring_size (Envoy default 1024)
 * @param maxRingSize           ring_hash_lb_config.maximum_ring_size (Envoy default 8M)
 * @param maglevTableSize       maglev_lb_config.table_size, a prime (Envoy default 65537)
 * @param localityWeighted      common_lb_config.locality_weighted_lb_config is set: pick a locality by
 *                              its weight first, then an endpoint in it
 * @param slowStart             slow_start_config of round robin or least request, or null
 * @param overrideHosts         common_lb_config.override_host_status as Envoy reads it per host health:
 *                              {@link #OVERRIDE_HEALTHY} and/or {@link #OVERRIDE_UNHEALTHY} (a stateful session's
 *                              host is used only when its health is in the set; Envoy's default: healthy only)
 */
public record LbOptions(
    double healthyPanicThreshold,
    long minRingSize,
    long maxRingSize,
    int maglevTableSize,
    boolean localityWeighted,
    SlowStartConfig slowStart,
    int overrideHosts) {
  /** A healthy endpoint (UNKNOWN, HEALTHY, DEGRADED) may be a stateful session's host. */
  public static final int OVERRIDE_HEALTHY = 1;
  /** An unhealthy endpoint (UNHEALTHY, DRAINING, TIMEOUT: failing health checks, ejected) may be one. */
  public static final int OVERRIDE_UNHEALTHY = 2;
  public static final long DEFAULT_MIN_RING = 1024;
  public static final long DEFAULT_MAX_RING = 8 * 1024 * 1024;
  public static final int DEFAULT_MAGLEV_TABLE = 65_537;
  public static final LbOptions DEFAULTS = new LbOptions(50, DEFAULT_MIN_RING, DEFAULT_MAX_RING, DEFAULT_MAGLEV_TABLE, false, null, OVERRIDE_HEALTHY);

  /** Default hashing options, no locality weighting, no slow start. */
  public LbOptions(double healthyPanicThreshold) {
    this(healthyPanicThreshold, DEFAULT_MIN_RING, DEFAULT_MAX_RING, DEFAULT_MAGLEV_TABLE, false, null, OVERRIDE_HEALTHY);
  }

  /** The same options without locality weighting (for the balancer inside one locality). */
  public LbOptions withoutLocalities() {
    return new LbOptions(healthyPanicThreshold, minRingSize, maxRingSize, maglevTableSize, false, slowStart, overrideHosts);
  }
}
