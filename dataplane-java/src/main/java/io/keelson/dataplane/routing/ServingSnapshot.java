package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
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
    Map<String, ServingCluster> clusters = new HashMap<>();
    for (ClusterConfig c : config.clusters().values()) {
      var clusterStats = stats.cluster(c.name());
      clusters.put(c.name(), new ServingCluster(c, clusterStats, stats.resilience().forCluster(c, clusterStats)));
    }
    Map<String, ServingListener> listeners = new HashMap<>();
    for (ListenerConfig l : config.listeners()) {
      if (l.http() != null) {
        listeners.put(l.name(), new ServingListener(l, RouteTable.compile(l.http().routeConfig()), stats.http(l.http().statPrefix())));
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
