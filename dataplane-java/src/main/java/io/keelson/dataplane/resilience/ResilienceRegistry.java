package io.keelson.dataplane.resilience;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.stats.ClusterStats;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Resilience state of every cluster of a process, by cluster name, kept across snapshots: breakers
 * always; endpoint health by endpoint address; the outlier detector while the cluster's config is
 * unchanged. Thread-safe ({@link #forCluster} is called when a snapshot is compiled, not per request).
 */
public final class ResilienceRegistry {
  private final Map<String, Entry> clusters = new ConcurrentHashMap<>();
  private final LongSupplier clock;

  public ResilienceRegistry(LongSupplier clock) {
    this.clock = clock;
  }

  private static final class Entry {
    final CircuitBreakers breakers = new CircuitBreakers();
    final Map<EndpointConfig, EndpointHealth> health = new HashMap<>();
    volatile ClusterResilience current;
  }

  /** The state of {@code config} for a new snapshot. */
  public ClusterResilience forCluster(ClusterConfig config, ClusterStats stats) {
    Entry e = clusters.computeIfAbsent(config.name(), n -> new Entry());
    synchronized (e) {
      ClusterResilience prev = e.current;
      if (prev != null && prev.config().equals(config)) {
        return prev;
      }
      EndpointHealth[] health = null;
      OutlierDetector detector = null;
      if (config.outlierDetection() != null) {
        List<EndpointConfig> eps = config.endpoints();
        health = new EndpointHealth[eps.size()];
        for (int i = 0; i < health.length; i++) {
          health[i] = e.health.computeIfAbsent(eps.get(i), k -> new EndpointHealth());
        }
        e.health.keySet().retainAll(eps);
        detector = new OutlierDetector(config.outlierDetection(), health, stats, clock);
      }
      ClusterResilience r = new ClusterResilience(config, e.breakers, health, detector);
      e.current = r;
      return r;
    }
  }

  /** The latest state of each cluster, for the admin's stats. */
  public Map<String, ClusterResilience> current() {
    Map<String, ClusterResilience> out = new HashMap<>();
    clusters.forEach((name, e) -> {
      ClusterResilience r = e.current;
      if (r != null) {
        out.put(name, r);
      }
    });
    return out;
  }
}
