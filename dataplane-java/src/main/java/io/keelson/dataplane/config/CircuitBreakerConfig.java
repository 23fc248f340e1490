package io.keelson.dataplane.config;

/**
 * Envoy's {@code circuit_breakers.thresholds} of a cluster, one set per routing priority. Immutable.
 *
 * @param defaultPriority thresholds for routes of priority DEFAULT
 * @param high            thresholds for routes of priority HIGH
 */
public record CircuitBreakerConfig(Thresholds defaultPriority, Thresholds high) {
  /** Envoy's defaults for both priorities: 1024 connections, pending and requests; 3 retries. */
  public static final CircuitBreakerConfig DEFAULTS = new CircuitBreakerConfig(Thresholds.DEFAULTS, Thresholds.DEFAULTS);

  public Thresholds of(boolean highPriority) {
    return highPriority ? high : defaultPriority;
  }

  /**
   * One priority's limits.
   *
   * @param retryBudget when non-null it replaces {@code maxRetries}: concurrent retries are limited to a
   *                    share of active requests
   */
  public record Thresholds(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries, RetryBudget retryBudget) {
    public static final Thresholds DEFAULTS = new Thresholds(1024, 1024, 1024, 3, null);
  }

  /**
   * Envoy's {@code retry_budget}.
   *
   * @param budgetPercent       share of active (and pending) requests that may be retries (default 20.0)
   * @param minRetryConcurrency retries always allowed whatever the share (default 3)
   */
  public record RetryBudget(double budgetPercent, int minRetryConcurrency) {
    public static final RetryBudget DEFAULTS = new RetryBudget(20.0, 3);
  }
}
