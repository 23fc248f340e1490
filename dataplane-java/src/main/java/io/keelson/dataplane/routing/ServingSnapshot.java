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
import java.util.function.Predicate;

/**
 * A {@link ProxySnapshot} compiled for serving: route tables compiled, counters resolved, so the hot
 * path does no lookups beyond a cluster-name map. A cluster whose active health checks are still
 * warming (see {@link HealthCheckService}) is held back, as Envoy keeps a warming cluster out of
 * service: the previous snapshot's version of it serves meanwhile, or none (requests to it get no
 * cluster, 503 NC), and {@link #activateWarmed} puts it in once warm. Immutable; swapped atomically as
 * a whole.
 */
public final class ServingSnapshot {
  private final ProxySnapshot config;
  private final Map<String, ServingListener> listeners;
  private final Map<String, ServingCluster> clusters;
  /** Clusters of {@link #config} still warming, by name: they replace (or join) {@link #clusters} once warm. */
  private final Map<String, ServingCluster> warming;

  private ServingSnapshot(ProxySnapshot config, Map<String, ServingListener> listeners, Map<String, ServingCluster> clusters,
      Map<String, ServingCluster> warming) {
    this.config = config;
    this.listeners = listeners;
    this.clusters = clusters;
    this.warming = warming;
  }

  public static ServingSnapshot compile(ProxySnapshot config, StatsRegistry stats) {
    return compile(config, stats, null);
  }

  /** As above, with active health checks run by {@code health} (null: health checks are not run). */
  public static ServingSnapshot compile(ProxySnapshot config, StatsRegistry stats, HealthCheckService health) {
    return compile(config, stats, health, null);
  }

  /**
   * As above, following {@code previous} (null for the first snapshot): endpoints that were not in a
   * cluster of the previous snapshot are new (slow start applies to them), and a cluster still warming
   * is served as {@code previous} served it. Never waits for a health check.
   */
  public static ServingSnapshot compile(ProxySnapshot config, StatsRegistry stats, HealthCheckService health, ServingSnapshot previous) {
    return compile(config, stats, health, previous, NOT_RESOLVING);
  }

  private static final Predicate<String> NOT_RESOLVING = name -> false;

  /**
   * As above, where a cluster {@code resolving} names (a DNS cluster before its first answer) warms too, as Envoy
   * keeps it out of service until its first resolution completes.
   */
  public static ServingSnapshot compile(ProxySnapshot config, StatsRegistry stats, HealthCheckService health,
      ServingSnapshot previous, Predicate<String> resolving) {
    Map<String, ServingCluster> clusters = new HashMap<>();
    Map<String, ServingCluster> warming = new HashMap<>();
    long now = System.nanoTime();
    for (ClusterConfig c : config.clusters().values()) {
      ServingCluster before = previous == null ? null : previous.cluster(c.name());
      var clusterStats = stats.cluster(c.name());
      var resilience = stats.resilience().forCluster(c, clusterStats);
      var compiled = new ServingCluster(c, clusterStats, resilience,
          health == null ? null : health.forCluster(c, resilience), addedAt(c, before, now));
      if (health != null && health.warming(c.name()) || resolving.test(c.name())) {
        warming.put(c.name(), compiled);
        if (before != null) {
          clusters.put(c.name(), before);
        }
      } else {
        clusters.put(c.name(), compiled);
      }
    }
    if (health != null) {
      health.retain(config.clusters().keySet());
    }
    Map<String, ServingListener> listeners = new HashMap<>();
    for (ListenerConfig l : config.listeners().stream().flatMap(x -> x.withChains().stream()).toList()) {
      if (l.http() != null) { // a chain selected by destination is served under its own name
        RouteTable routes = RouteTable.compile(l.http().routeConfig());
        listeners.put(l.name(), new ServingListener(l, routes, stats.http(l.http().statPrefix()),
            FilterChain.compile(l.http(), FilterResources.of(stats, l.http().statPrefix(), l.name()), routes)));
      }
    }
    return new ServingSnapshot(config, Map.copyOf(listeners), Map.copyOf(clusters), Map.copyOf(warming));
  }

  /**
   * This snapshot with the clusters that finished warming put in service (this one when none did).
   * Pure: safe to retry in a compare-and-set loop.
   */
  public ServingSnapshot activateWarmed(HealthCheckService health) {
    return activateWarmed(health, NOT_RESOLVING);
  }

  /** As above, where the clusters {@code resolving} names are still warming too. */
  public ServingSnapshot activateWarmed(HealthCheckService health, Predicate<String> resolving) {
    if (warming.isEmpty()) {
      return this;
    }
    Map<String, ServingCluster> live = null;
    Map<String, ServingCluster> still = new HashMap<>();
    for (Map.Entry<String, ServingCluster> e : warming.entrySet()) {
      if (health.warming(e.getKey()) || resolving.test(e.getKey())) {
        still.put(e.getKey(), e.getValue());
      } else {
        if (live == null) {
          live = new HashMap<>(clusters);
        }
        live.put(e.getKey(), e.getValue());
      }
    }
    return live == null ? this : new ServingSnapshot(config, listeners, Map.copyOf(live), Map.copyOf(still));
  }

  /** Names of the clusters of this config still warming (not yet in {@link #clusters}, or served by an older version). */
  public java.util.Set<String> warmingClusters() {
    return warming.keySet();
  }

  /** Per endpoint, when it joined: kept from {@code before}, now for new ones; null without slow start or on a new cluster. */
  private static long[] addedAt(ClusterConfig c, ServingCluster before, long now) {
    if (c.lb().slowStart() == null || before == null) {
      return null;
    }
    var old = before.config().endpoints();
    long[] out = new long[c.endpoints().size()];
    for (int i = 0; i < out.length; i++) {
      int j = old.indexOf(c.endpoints().get(i));
      out[i] = j >= 0 ? before.addedAt(j) : now;
    }
    return out;
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
