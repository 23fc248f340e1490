package io.keelson.dataplane.config;

/**
 * A cluster's load-balancing options besides lb_policy. Immutable.
 *
 * @param healthyPanicThreshold common_lb_config.healthy_panic_threshold in percent (Envoy default 50):
 *                              below this share of healthy endpoints, health is ignored
 * @param minRingSize           ring_hash_lb_config.minimum_ring_size (Envoy default 1024)
 * @param maxRingSize           ring_hash_lb_config.maximum_ring_size (Envoy default 8M)
 * @param maglevTableSize       maglev_lb_config.table_size, a prime (Envoy default 65537)
 */
public record LbOptions(double healthyPanicThreshold, long minRingSize, long maxRingSize, int maglevTableSize) {
  public static final long DEFAULT_MIN_RING = 1024;
  public static final long DEFAULT_MAX_RING = 8 * 1024 * 1024;
  public static final int DEFAULT_MAGLEV_TABLE = 65_537;
  public static final LbOptions DEFAULTS = new LbOptions(50, DEFAULT_MIN_RING, DEFAULT_MAX_RING, DEFAULT_MAGLEV_TABLE);

  /** Default hashing options. */
  public LbOptions(double healthyPanicThreshold) {
    this(healthyPanicThreshold, DEFAULT_MIN_RING, DEFAULT_MAX_RING, DEFAULT_MAGLEV_TABLE);
  }
}
