package io.keelson.dataplane.resilience;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.balance.HealthAwareBalancer;
import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.ClusterConfig;

/**
 * One cluster's resilience state as served by one snapshot: its circuit breakers (shared by every
 * snapshot of the cluster), its endpoints' health and its outlier detector (null when the cluster has no
 * outlier_detection). Immutable holder of thread-safe parts.
 */
public final class ClusterResilience {
  private final ClusterConfig config;
  private final CircuitBreakers breakers;
  private final EndpointHealth[] health;
  private final OutlierDetector detector;

  ClusterResilience(ClusterConfig config, CircuitBreakers breakers, EndpointHealth[] health, OutlierDetector detector) {
    this.config = config;
    this.breakers = breakers;
    this.health = health;
    this.detector = detector;
  }

  public ClusterConfig config() {
    return config;
  }

  public CircuitBreakers breakers() {
    return breakers;
  }

  /** The outlier detector, or null. */
  public OutlierDetector detector() {
    return detector;
  }

  /** True when balancers must skip endpoints that are not available. */
  public boolean tracksHealth() {
    return health != null;
  }

  /** Health of endpoint {@code index} (balancer order), or null when health is not tracked. */
  public EndpointHealth health(int index) {
    return health == null ? null : health[index];
  }

  /** {@code policy} itself, or wrapped to skip unavailable endpoints when health is tracked. */
  public LoadBalancer balancer(LoadBalancer policy) {
    return health == null ? policy : new HealthAwareBalancer(policy, health);
  }
}
