package io.keelson.dataplane.stats;

/**
 * What the proxy tells health checkers about itself (Envoy's server state): failed by the admin's
 * {@code /healthcheck/fail} until {@code /healthcheck/ok}, and draining once a drain or shutdown began. Read per request
 * by {@code envoy.filters.http.health_check}. Thread-safe (volatile flags).
 */
public final class ServerState {
  private volatile boolean healthCheckFailed;
  private volatile boolean draining;
  /** Envoy's {@code server.state} (0 live, 1 draining, 2 pre-initializing, 3 initializing), from the server. */
  private volatile java.util.function.IntSupplier lifecycle = () -> 0;

  /** Where {@code server.state} comes from (the proxy server, once built). */
  public void lifecycle(java.util.function.IntSupplier source) {
    this.lifecycle = source;
  }

  /** Envoy's {@code server.state} gauge now. */
  public int state() {
    return lifecycle.getAsInt();
  }

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
