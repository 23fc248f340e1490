package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * Envoy's cluster {@code outlier_detection}; field names and defaults are Envoy's. Percentages are
 * 0-100. Immutable.
 *
 * @param successRateStdevFactor the stdev factor divided by 1000 (Envoy's 1900 is 1.9)
 * @param splitExternalLocalOriginErrors Envoy's split_external_local_origin_errors: failures without a response
 *                    (connect failure, timeout, reset) count as local-origin failures only, not as 5xx or gateway
 *                    failures, and eject after {@code consecutiveLocalOriginFailure} of them in a row
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
    int failurePercentageRequestVolume,
    boolean splitExternalLocalOriginErrors,
    int consecutiveLocalOriginFailure,
    int enforcingConsecutiveLocalOriginFailure) {

  /** Local-origin errors not split (they count as gateway failures). */
  public OutlierDetectionConfig(int consecutive5xx, int consecutiveGatewayFailure, Duration interval,
      Duration baseEjectionTime, Duration maxEjectionTime, int maxEjectionPercent, int enforcingConsecutive5xx,
      int enforcingConsecutiveGatewayFailure, int enforcingSuccessRate, int successRateMinimumHosts,
      int successRateRequestVolume, double successRateStdevFactor, int failurePercentageThreshold,
      int enforcingFailurePercentage, int failurePercentageMinimumHosts, int failurePercentageRequestVolume) {
    this(consecutive5xx, consecutiveGatewayFailure, interval, baseEjectionTime, maxEjectionTime, maxEjectionPercent,
        enforcingConsecutive5xx, enforcingConsecutiveGatewayFailure, enforcingSuccessRate, successRateMinimumHosts,
        successRateRequestVolume, successRateStdevFactor, failurePercentageThreshold, enforcingFailurePercentage,
        failurePercentageMinimumHosts, failurePercentageRequestVolume, false, 5, 100);
  }

  /** Envoy's defaults (an empty {@code outlier_detection: {}}). */
  public static final OutlierDetectionConfig DEFAULTS = new OutlierDetectionConfig(
      5, 5, Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(300), 10,
      100, 0, 100, 5, 100, 1.9, 85, 0, 5, 50, false, 5, 100);
}
