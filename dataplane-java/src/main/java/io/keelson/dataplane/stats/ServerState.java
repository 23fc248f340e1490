package io.keelson.dataplane.stats;

/**
 * What the proxy tells health checkers about itself (Envoy's server state): failed by the admin's
 * {@code /healthcheck/fail} until {@code /healthcheck/ok}, and draining once a drain or shutdown began. Read per request
 * by {@code envoy.filters.http.health_check}. Thread-safe (volatile flags).
 */
public final class ServerState {
  private volatile boolean healthCheckFailed;
  private volatile boolean draining;

  /** Admin {@code /healthcheck/fail} (true) and {@code /healthcheck/ok} (false). */
  public void failHealthCheck(boolean failed) {
    healthCheckFailed = failed;
  }

  public void startDraining() {
    draining = true;
  }

  public boolean healthCheckFailed() {
    return healthCheckFailed;
  }

  /** Whether health checks must fail: failed by the admin, or draining. */
  public boolean failing() {
    return healthCheckFailed || draining;
  }
}
