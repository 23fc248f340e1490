package io.keelson.dataplane.health;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.balance.HealthAwareBalancer;
import io.keelson.dataplane.balance.LoadBalancer;

/**
 * The health of one health-checked cluster's endpoints, in config order, as the balancers and the
 * admin read it. Written only by the cluster's checker on the health loop; read from any thread.
 */
public final class ClusterHealth {
  private final EndpointHealth[] endpoints;
  private final double panicThresholdPercent;
  /** Endpoints that failed active health checks; written by the health loop only. */
  private volatile int failed;

  ClusterHealth(EndpointHealth[] endpoints, double panicThresholdPercent) {
    this.endpoints = endpoints;
    this.panicThresholdPercent = panicThresholdPercent;
    int f = 0;
    for (EndpointHealth h : endpoints) {
      f += h.has(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK) ? 1 : 0;
    }
    failed = f;
  }

  /** Health of endpoint {@code index} (config order). */
  public EndpointHealth endpoint(int index) {
    return endpoints[index];
  }

  public int size() {
    return endpoints.length;
  }

  /**
   * Envoy's panic mode: when fewer than healthy_panic_threshold percent of the endpoints are healthy,
   * health is ignored and traffic goes to all of them, so a half-failed check cannot overload the rest.
   */
  public boolean panic() {
    int f = failed;
    return f > 0 && (endpoints.length - f) * 100.0 < panicThresholdPercent * endpoints.length;
  }

  /** Envoy's /clusters health_flags: {@code healthy}, or the flags such as {@code /failed_active_hc}. */
  public String flags(int index) {
    EndpointHealth h = endpoints[index];
    if (h.available()) {
      return "healthy";
    }
    return (h.has(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK) ? "/failed_active_hc" : "")
        + (h.has(EndpointHealth.EJECTED) ? "/failed_outlier_check" : "");
  }

  /** A balancer over {@code policy} that skips unhealthy endpoints, outside panic mode. */
  public LoadBalancer balancer(LoadBalancer policy) {
    return new HealthCheckedBalancer(policy, new HealthAwareBalancer(policy, endpoints), this);
  }

  /** Endpoints currently failing active health checks. */
  int failedCount() {
    return failed;
  }

  /** Sets or clears the failed-active-check flag of one endpoint; health loop only. */
  void markFailed(int index, boolean failedCheck) {
    if (endpoints[index].set(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK, failedCheck)) {
      failed += failedCheck ? 1 : -1;
    }
  }
}
