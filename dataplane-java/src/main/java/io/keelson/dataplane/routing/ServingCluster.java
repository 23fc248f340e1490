package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.health.ClusterHealth;
import io.keelson.dataplane.resilience.ClusterResilience;
import io.keelson.dataplane.stats.ClusterStats;

/**
 * A cluster as served: its config, its counters, its resilience state, its endpoints' active health
 * (null when the cluster has no health check) and when its endpoints joined (null without slow
 * start), resolved once per snapshot. Immutable.
 */
public record ServingCluster(
    ClusterConfig config, ClusterStats stats, ClusterResilience resilience, ClusterHealth health, long[] endpointAddedAt) {
  /** When endpoint {@code index} joined the cluster (System.nanoTime), or Long.MIN_VALUE when it was there from the start. */
  public long addedAt(int index) {
    return endpointAddedAt == null ? Long.MIN_VALUE : endpointAddedAt[index];
  }

  public String name() {
    return config.name();
  }
}
