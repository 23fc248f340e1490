package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.OutlierDetectionConfig;
import io.keelson.dataplane.config.RetryPolicy;
import java.time.Duration;

/**
 * Translates the resilience fields: route and virtual-host {@code retry_policy}, cluster
 * {@code circuit_breakers} and {@code outlier_detection}, with Envoy's defaults and a named error for
 * every value Keelson cannot run. Used by one thread.
 */
final class ResilienceTranslator {
  static final String PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";
  private static final String PREVIOUS_HOSTS_TYPE = "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";

  private final Problems problems;

  ResilienceTranslator(Problems problems) {
    this.problems = problems;
  }

  /** A retry_policy; {@code bufferLimit} is the route's or virtual host's per_request_buffer_limit_bytes (0 if unset). */
  RetryPolicy retryPolicy(io.envoyproxy.envoy.config.route.v3.RetryPolicy p, String path, int bufferLimit) {
    int on = 0;
    if (!p.getRetryOn().isBlank()) {
      for (String c : p.getRetryOn().split(",")) {
        String name = c.strip();
        int bit = RetryPolicy.condition(name);
        if (bit == 0) {
          problems.error(path + ".retry_on", "'" + name + "' is not supported; expected a comma-separated list of "
              + "5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, cancelled, "
              + "deadline-exceeded, resource-exhausted, unavailable");
        }
        on |= bit;
      }
    }
    int numRetries = p.hasNumRetries() ? p.getNumRetries().getValue() : 1;
    if (numRetries < 0) {
      problems.error(path + ".num_retries", Integer.toUnsignedString(numRetries) + " is out of range; expected at most " + Integer.MAX_VALUE);
      numRetries = 0;
    }
    Duration perTry = p.hasPerTryTimeout() ? RouteTranslator.duration(p.getPerTryTimeout()) : Duration.ZERO;
    Duration base = Duration.ofMillis(25);
    Duration max = null;
    if (p.hasRetryBackOff()) {
      var b = p.getRetryBackOff();
      if (!b.hasBaseInterval() || RouteTranslator.duration(b.getBaseInterval()).toMillis() < 1) {
        problems.error(path + ".retry_back_off.base_interval", "is required and must be at least 1ms");
      } else {
        base = RouteTranslator.duration(b.getBaseInterval());
      }
      if (b.hasMaxInterval()) {
        max = RouteTranslator.duration(b.getMaxInterval());
        if (max.compareTo(base) < 0) {
          problems.error(path + ".retry_back_off.max_interval", max + " is below base_interval " + base + "; expected at least it");
        }
      }
    }
    if (max == null) {
      max = base.multipliedBy(10);
    }
    int[] codes = new int[p.getRetriableStatusCodesCount()];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = p.getRetriableStatusCodes(i);
      if (codes[i] < 100 || codes[i] > 599) {
        problems.error(path + ".retriable_status_codes[" + i + "]", codes[i] + " is out of range; expected 100-599");
      }
    }
    boolean previousHosts = false;
    for (int i = 0; i < p.getRetryHostPredicateCount(); i++) {
      var pred = p.getRetryHostPredicate(i);
      String type = pred.hasTypedConfig() ? SupportedTypes.typeName(pred.getTypedConfig().getTypeUrl()) : "";
      if (pred.getName().equals(PREVIOUS_HOSTS) || type.equals(PREVIOUS_HOSTS_TYPE)) {
        previousHosts = true;
      } else {
        problems.error(path + ".retry_host_predicate[" + i + "]", "'" + pred.getName() + "' is not supported; expected "
            + PREVIOUS_HOSTS);
      }
    }
    int attempts = p.getHostSelectionRetryMaxAttempts() > 0 ? (int) Math.min(64, p.getHostSelectionRetryMaxAttempts()) : 1;
    int limit = bufferLimit > 0 ? bufferLimit : RetryPolicy.DEFAULT_BUFFER_LIMIT_BYTES;
    return new RetryPolicy(on, numRetries, perTry, base, max, codes, previousHosts, attempts, limit);
  }

  CircuitBreakerConfig circuitBreakers(CircuitBreakers cb, String path) {
    CircuitBreakerConfig.Thresholds def = CircuitBreakerConfig.Thresholds.DEFAULTS;
    CircuitBreakerConfig.Thresholds high = CircuitBreakerConfig.Thresholds.DEFAULTS;
    for (int i = 0; i < cb.getThresholdsCount(); i++) {
      var t = cb.getThresholds(i);
      String at = path + ".thresholds[" + i + "]";
      var d = CircuitBreakerConfig.Thresholds.DEFAULTS;
      CircuitBreakerConfig.RetryBudget budget = null;
      if (t.hasRetryBudget()) {
        var b = t.getRetryBudget();
        double percent = b.hasBudgetPercent() ? b.getBudgetPercent().getValue() : 20.0;
        if (percent < 0 || percent > 100) {
          problems.error(at + ".retry_budget.budget_percent", percent + " is out of range; expected 0-100");
        }
        int min = b.hasMinRetryConcurrency() ? saturated(b.getMinRetryConcurrency().getValue()) : 3;
        budget = new CircuitBreakerConfig.RetryBudget(percent, min);
      }
      var th = new CircuitBreakerConfig.Thresholds(
          t.hasMaxConnections() ? saturated(t.getMaxConnections().getValue()) : d.maxConnections(),
          t.hasMaxPendingRequests() ? saturated(t.getMaxPendingRequests().getValue()) : d.maxPendingRequests(),
          t.hasMaxRequests() ? saturated(t.getMaxRequests().getValue()) : d.maxRequests(),
          t.hasMaxRetries() ? saturated(t.getMaxRetries().getValue()) : d.maxRetries(),
          budget);
      if (t.getPriority() == RoutingPriority.HIGH) {
        high = th;
      } else if (t.getPriority() == RoutingPriority.DEFAULT) {
        def = th;
      } else {
        problems.error(at + ".priority", t.getPriority() + " is not supported; expected DEFAULT or HIGH");
      }
    }
    return new CircuitBreakerConfig(def, high);
  }

  OutlierDetectionConfig outlierDetection(OutlierDetection o, String path) {
    var d = OutlierDetectionConfig.DEFAULTS;
    return new OutlierDetectionConfig(
        o.hasConsecutive5Xx() ? o.getConsecutive5Xx().getValue() : d.consecutive5xx(),
        o.hasConsecutiveGatewayFailure() ? o.getConsecutiveGatewayFailure().getValue() : d.consecutiveGatewayFailure(),
        positive(o.hasInterval() ? RouteTranslator.duration(o.getInterval()) : d.interval(), path + ".interval"),
        positive(o.hasBaseEjectionTime() ? RouteTranslator.duration(o.getBaseEjectionTime()) : d.baseEjectionTime(), path + ".base_ejection_time"),
        o.hasMaxEjectionTime() ? RouteTranslator.duration(o.getMaxEjectionTime()) : d.maxEjectionTime(),
        percent(o.hasMaxEjectionPercent() ? o.getMaxEjectionPercent().getValue() : d.maxEjectionPercent(), path + ".max_ejection_percent"),
        percent(o.hasEnforcingConsecutive5Xx() ? o.getEnforcingConsecutive5Xx().getValue() : d.enforcingConsecutive5xx(), path + ".enforcing_consecutive_5xx"),
        percent(o.hasEnforcingConsecutiveGatewayFailure() ? o.getEnforcingConsecutiveGatewayFailure().getValue() : d.enforcingConsecutiveGatewayFailure(), path + ".enforcing_consecutive_gateway_failure"),
        percent(o.hasEnforcingSuccessRate() ? o.getEnforcingSuccessRate().getValue() : d.enforcingSuccessRate(), path + ".enforcing_success_rate"),
        o.hasSuccessRateMinimumHosts() ? o.getSuccessRateMinimumHosts().getValue() : d.successRateMinimumHosts(),
        o.hasSuccessRateRequestVolume() ? o.getSuccessRateRequestVolume().getValue() : d.successRateRequestVolume(),
        o.hasSuccessRateStdevFactor() ? o.getSuccessRateStdevFactor().getValue() / 1000.0 : d.successRateStdevFactor(),
        percent(o.hasFailurePercentageThreshold() ? o.getFailurePercentageThreshold().getValue() : d.failurePercentageThreshold(), path + ".failure_percentage_threshold"),
        percent(o.hasEnforcingFailurePercentage() ? o.getEnforcingFailurePercentage().getValue() : d.enforcingFailurePercentage(), path + ".enforcing_failure_percentage"),
        o.hasFailurePercentageMinimumHosts() ? o.getFailurePercentageMinimumHosts().getValue() : d.failurePercentageMinimumHosts(),
        o.hasFailurePercentageRequestVolume() ? o.getFailurePercentageRequestVolume().getValue() : d.failurePercentageRequestVolume(),
        o.getSplitExternalLocalOriginErrors(),
        o.hasConsecutiveLocalOriginFailure() ? o.getConsecutiveLocalOriginFailure().getValue() : d.consecutiveLocalOriginFailure(),
        percent(o.hasEnforcingConsecutiveLocalOriginFailure() ? o.getEnforcingConsecutiveLocalOriginFailure().getValue()
            : d.enforcingConsecutiveLocalOriginFailure(), path + ".enforcing_consecutive_local_origin_failure"));
  }

  /**
   * A uint32 limit as an int: values above {@link Integer#MAX_VALUE} (istiod sends 4294967295 on every cluster to mean
   * "no limit") become {@link Integer#MAX_VALUE}, which no count of connections, requests or retries can reach.
   */
  private static int saturated(int v) {
    return v < 0 ? Integer.MAX_VALUE : v;
  }

  private int percent(int v, String path) {
    if (v < 0 || v > 100) {
      problems.error(path, Integer.toUnsignedString(v) + " is out of range; expected 0-100");
    }
    return v;
  }

  private Duration positive(Duration d, String path) {
    if (d.isNegative() || d.isZero()) {
      problems.error(path, d + " is out of range; expected above 0");
      return Duration.ofSeconds(1);
    }
    return d;
  }
}
