package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * Envoy's cluster {@code outlier_detection}; field names and defaults are Envoy's. Percentages are
 * 0-100. Immutable.
 *
 * @param successRateStdevFactor the stdev factor divided by 1000 (Envoy's 1900 is 1.9)
 */
public record OutlierDetectionConfig(
    int consecutive5xx,
    int consecutiveGatewayFailure,
    Duration interval,
    Duration baseEjectionTime,
    Duration maxEjectionTime,
    int maxEjectionPercent,
    int enforcingConsecutive5xx,
    int enforcingConsecutiveGatewayFailure,
    int enforcingSuccessRate,
    int successRateMinimumHosts,
    int successRateRequestVolume,
    double successRateStdevFactor,
    int failurePercentageThreshold,
    int enforcingFailurePercentage,
    int failurePercentageMinimumHosts,
    int failurePercentageRequestVolume) {

  /** Envoy's defaults (an empty {@code outlier_detection: {}}). */
  public static final OutlierDetectionConfig DEFAULTS = new OutlierDetectionConfig(
      5, 5, Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(300), 10,
      100, 0, 100, 5, 100, 1.9, 85, 0, 5, 50);
}
