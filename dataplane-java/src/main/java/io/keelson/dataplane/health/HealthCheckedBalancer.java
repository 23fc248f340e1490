package io.keelson.dataplane.health;

import io.keelson.dataplane.balance.LoadBalancer;

/**
 * Picks through the health-aware balancer, or straight through the policy in panic mode. Both share
 * the policy's counters. See {@link LoadBalancer} for threading.
 */
final class HealthCheckedBalancer extends io.keelson.dataplane.balance.WrappingBalancer {
  private final LoadBalancer healthAware;
  private final ClusterHealth health;

  HealthCheckedBalancer(LoadBalancer policy, LoadBalancer healthAware, ClusterHealth health) {
    super(policy);
    this.healthAware = healthAware;
    this.health = health;
  }

  @Override
  public int pick() {
    return health.panic() ? policy.pick() : healthAware.pick();
  }

  /** By hash: the policy's endpoint if healthy, else a rehash (a few times), else any healthy one. */
  @Override
  public int pick(long hash) {
    int chosen = policy.pick(hash);
    if (chosen < 0 || health.panic() || health.endpoint(chosen).available()) {
      return chosen;
    }
    long h = hash;
    for (int i = 0; i < 3; i++) {
      h = io.keelson.dataplane.packet.maglev.MaglevTable.mix(h + 0x9E3779B97F4A7C15L);
      int again = policy.pick(h);
      if (health.endpoint(again).available()) {
        return again;
      }
    }
    return healthAware.pick();
  }
}
