package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * Envoy's slow_start_config (round_robin_lb_config / least_request_lb_config). Immutable.
 *
 * @param window           slow_start_window
 * @param aggression       aggression (default 1.0: the weight grows linearly)
 * @param minWeightPercent min_weight_percent (default 10)
 */
public record SlowStartConfig(Duration window, double aggression, double minWeightPercent) {
  /** The share of its weight an endpoint added {@code ageNanos} ago gets: 1 once out of the window. */
  public double factor(long ageNanos) {
    long w = window.toNanos();
    if (ageNanos >= w) {
      return 1.0;
    }
    double t = Math.max(0, ageNanos) / (double) w;
    return Math.max(minWeightPercent / 100.0, Math.pow(t, 1.0 / aggression));
  }
}
