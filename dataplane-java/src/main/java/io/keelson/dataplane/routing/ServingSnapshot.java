package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.filter.FilterChain;
import io.keelson.dataplane.health.HealthCheckService;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.stats.StatsRegistry;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link ProxySnapshot} compiled for serving: route tables compiled, counters resolved, so the hot
 * path does no lookups beyond a cluster-name map. Immutable; swapped atomically as a whole.
 */
public final class ServingSnapshot {
  private final ProxySnapshot config;
  private final Map<String, ServingListener> listeners;
  private final Map<String, ServingCluster> clusters;

  private ServingSnapshot(ProxySnapshot config, Map<String, ServingListener> listeners, Map<String, ServingCluster> clusters) {
    this.config = config;
    this.listeners = listeners;
    this.clusters = clusters;
  }

  public static ServingSnapshot compile(ProxySnapshot config, StatsRegistry stats) {
    return compile(config, stats, null);
  }

  /** As above, with active health checks run by {@code health} (null: health checks are not run). */
  public static ServingSnapshot compile(ProxySnapshot config, StatsRegistry stats, HealthCheckService health) {
    Map<String, ServingCluster> clusters = new HashMap<>();
    for (ClusterConfig c : config.clusters().values()) {
      clusters.put(c.name(), new ServingCluster(c, stats.cluster(c.name()), health == null ? null : health.forCluster(c)));
    }
    if (health != null) {
      health.retain(clusters.keySet());
    }
    Map<String, ServingListener> listeners = new HashMap<>();
    for (ListenerConfig l : config.listeners()) {
      if (l.http() != null) {
        listeners.put(l.name(), new ServingListener(l, RouteTable.compile(l.http().routeConfig()), stats.http(l.http().statPrefix()),
            FilterChain.compile(l.http(), FilterResources.of(stats, l.http().statPrefix()))));
      }
    }
    return new ServingSnapshot(config, Map.copyOf(listeners), Map.copyOf(clusters));
  }

  public ProxySnapshot config() {
    return config;
  }

  /** The HTTP listener of that name, or null. */
  public ServingListener listener(String name) {
    return listeners.get(name);
  }

  /** The cluster of that name, or null. */
  public ServingCluster cluster(String name) {
    return clusters.get(name);
  }

  public Map<String, ServingCluster> clusters() {
    return clusters;
  }
}
