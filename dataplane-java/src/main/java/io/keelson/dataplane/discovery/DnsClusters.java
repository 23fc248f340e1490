package io.keelson.dataplane.discovery;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The STRICT_DNS and LOGICAL_DNS clusters of the config in effect, each resolved in the background as Envoy's: looked
 * up when the cluster arrives and again every dns_refresh_rate (dns_failure_refresh_rate's backoff after a failure),
 * never on an event loop. The config the proxy serves carries their resolved addresses as endpoints
 * ({@link #resolved}), so balancing, health checks, outlier detection and per-host stats treat them as EDS hosts, and
 * an address that disappears is removed as an EDS removal. A cluster is warming (not in service: Envoy's 503 NC)
 * until its first lookup completes or fails; every change of an answer calls the owner back to swap the snapshot.
 * Thread-safe: the owner's thread reconciles, lookup threads report.
 */
public final class DnsClusters implements AutoCloseable {
  private final DnsLookups lookups = new DnsLookups();
  private final StatsRegistry stats;
  private final Runnable onChange;
  private final Map<String, DnsClusterResolution> byName = new HashMap<>(); // guarded by this
  private boolean closed; // guarded by this

  /** {@code onChange} runs on a lookup thread whenever a cluster's resolved endpoints change or it finishes warming. */
  public DnsClusters(StatsRegistry stats, Runnable onChange) {
    this.stats = stats;
    this.onChange = onChange;
  }

  /**
   * Follows {@code config}: starts resolving its new or changed DNS clusters (a cluster whose source config is
   * unchanged keeps its answers and timer), stops those it no longer has, and returns {@link #resolved}.
   */
  public synchronized ProxySnapshot reconcile(ProxySnapshot config) {
    for (Iterator<Map.Entry<String, DnsClusterResolution>> it = byName.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      ClusterConfig now = config.cluster(e.getKey());
      if (now == null || !e.getValue().isFrom(now)) {
        e.getValue().stop(); // its refresh timer goes with it
        it.remove();
      }
    }
    for (ClusterConfig c : config.clusters().values()) {
      if (c.dns() != null && !closed && !byName.containsKey(c.name())) {
        var r = new DnsClusterResolution(c, lookups, stats.cluster(c.name()), this::changed);
        byName.put(c.name(), r);
        r.start();
      }
    }
    return resolved(config);
  }

  /**
   * {@code config} with each DNS cluster's endpoints replaced by the addresses of its latest answers (none before the
   * first): the same instance when nothing differs.
   */
  public synchronized ProxySnapshot resolved(ProxySnapshot config) {
    Map<String, ClusterConfig> clusters = null;
    for (DnsClusterResolution r : byName.values()) {
      ClusterConfig current = config.cluster(r.source().name());
      if (current == null || !r.isFrom(current)) {
        continue; // another config's cluster of that name: reconcile has not seen it yet
      }
      ClusterConfig resolved = r.resolved();
      if (!resolved.equals(current)) {
        if (clusters == null) {
          clusters = new LinkedHashMap<>(config.clusters());
        }
        clusters.put(resolved.name(), resolved);
      }
    }
    return clusters == null ? config : config.withClusters(clusters);
  }

  /** True while cluster {@code name} waits for its first answer. */
  public synchronized boolean warming(String name) {
    DnsClusterResolution r = byName.get(name);
    return r != null && !r.done();
  }

  private void changed() {
    synchronized (this) {
      if (closed) {
        return;
      }
    }
    onChange.run();
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      byName.values().forEach(DnsClusterResolution::stop);
      byName.clear();
    }
    lookups.close();
  }
}
