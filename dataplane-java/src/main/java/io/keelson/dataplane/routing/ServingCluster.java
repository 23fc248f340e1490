package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.resilience.ClusterResilience;
import io.keelson.dataplane.stats.ClusterStats;

/** A cluster as served: its config, its counters and its resilience state, resolved once per snapshot. Immutable. */
public record ServingCluster(ClusterConfig config, ClusterStats stats, ClusterResilience resilience) {
  /** Default breakers, no health tracking. */
  public ServingCluster(ClusterConfig config, ClusterStats stats) {
    this(config, stats, ClusterResilience.standalone(config));
  }

  public String name() {
    return config.name();
  }
}
