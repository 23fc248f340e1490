package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;

/**
 * Wraps any balancer so that its picks skip endpoints whose {@link EndpointHealth} is not available:
 * the policy is asked again a few times, then the endpoints are scanned in order from the last pick.
 * When none is available it returns the policy's own pick (Envoy's panic mode: better some traffic
 * to a suspect endpoint than none). Costs one volatile read per pick while every endpoint is healthy.
 * See {@link LoadBalancer} for threading.
 */
public final class HealthAwareBalancer implements LoadBalancer {
  /** Times the policy is asked again before scanning. */
  private static final int REPICKS = 2;

  private final LoadBalancer policy;
  private final EndpointHealth[] health;

  /** @param health one per endpoint of {@code policy}, in its order */
  public HealthAwareBalancer(LoadBalancer policy, EndpointHealth[] health) {
    if (health.length != policy.size()) {
      throw new IllegalArgumentException("health for " + health.length + " endpoints, balancer has " + policy.size());
    }
    this.policy = policy;
    this.health = health.clone();
  }

  @Override
  public int pick() {
    int first = policy.pick();
    if (first < 0 || health[first].available()) {
      return first;
    }
    for (int i = 0; i < REPICKS; i++) {
      int again = policy.pick();
      if (health[again].available()) {
        return again;
      }
    }
    int n = health.length;
    for (int i = 1; i < n; i++) {
      int j = first + i;
      if (j >= n) {
        j -= n;
      }
      if (health[j].available()) {
        return j;
      }
    }
    return first; // panic: nothing is available
  }

  /** True when endpoint {@code index} may take requests. */
  public boolean available(int index) {
    return health[index].available();
  }

  @Override
  public EndpointConfig endpoint(int index) {
    return policy.endpoint(index);
  }

  @Override
  public int size() {
    return policy.size();
  }

  @Override
  public void onRequestStart(int index) {
    policy.onRequestStart(index);
  }

  @Override
  public void onRequestEnd(int index) {
    policy.onRequestEnd(index);
  }

  @Override
  public int activeRequests(int index) {
    return policy.activeRequests(index);
  }
}
