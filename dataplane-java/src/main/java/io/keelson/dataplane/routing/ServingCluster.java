package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.stats.ClusterStats;

/** A cluster as served: its config and its counters, resolved once per snapshot. Immutable. */
public record ServingCluster(ClusterConfig config, ClusterStats stats) {
  public String name() {
    return config.name();
  }
}
