package io.keelson.dataplane.config;

/**
 * A cluster's load-balancing options besides lb_policy. Immutable.
 *
 * @param healthyPanicThreshold common_lb_config.healthy_panic_threshold in percent (Envoy default 50):
 *                              below this share of healthy endpoints, health is ignored
 */
public record LbOptions(double healthyPanicThreshold) {
  public static final LbOptions DEFAULTS = new LbOptions(50);
}
