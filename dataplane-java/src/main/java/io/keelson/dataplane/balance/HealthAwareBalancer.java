package io.keelson.dataplane.balance;


/**
 * Wraps any balancer so that its picks skip endpoints whose {@link EndpointHealth} is not available:
 * the policy is asked again a few times, then the endpoints are scanned in order from the last pick.
 * When none is available it returns the policy's own pick (Envoy's panic mode: better some traffic
 * to a suspect endpoint than none). Costs one volatile read per pick while every endpoint is healthy.
 * See {@link LoadBalancer} for threading.
 */
public final class HealthAwareBalancer extends WrappingBalancer {
  /** Times the policy is asked again before scanning. */
  private static final int REPICKS = 2;

  private final EndpointHealth[] health;

  /** @param health one per endpoint of {@code policy}, in its order */
  public HealthAwareBalancer(LoadBalancer policy, EndpointHealth[] health) {
    super(policy);
    if (health.length != policy.size()) {
      throw new IllegalArgumentException("health for " + health.length + " endpoints, balancer has " + policy.size());
    }
    this.health = health.clone();
    if (policy instanceof PriorityBalancer levels) {
      levels.health(health); // it picks a level by health, then an available endpoint of that level
    }
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

  /** By hash (ring hash, Maglev): the policy's endpoint when available, else as {@link #pick()}. */
  @Override
  public int pick(long hash) {
    int chosen = policy.pick(hash);
    return chosen < 0 || health[chosen].available() ? chosen : pick();
  }

  /** True when endpoint {@code index} may take requests. */
  public boolean available(int index) {
    return health[index].available();
  }
}
