package io.keelson.dataplane.health;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HealthCheckConfig;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.transport.Transport;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;

/**
 * The health checkers of one proxy process: one per health-checked cluster, all on one dedicated
 * event loop ({@code keelson-health}), never on the proxy's I/O loops. A new snapshot keeps a
 * cluster's checker (and its endpoints' health) when the cluster's config did not change; endpoint
 * health objects survive a change for endpoints that stay. A cluster new to the service is
 * <em>warming</em> (as Envoy warms a cluster) until every endpoint had its first check, or the
 * check timeout + 1 s passed; nobody waits for that here: {@link #warming} says whether a cluster
 * still warms and the {@link #onClusterWarm} listener hears when one is done. Thread-safe
 * (snapshot swaps are rare and synchronized).
 */
public final class HealthCheckService implements AutoCloseable {
  private final Transport transport;
  private final StatsRegistry stats;
  private EventLoopGroup group;
  private final Map<String, Entry> clusters = new HashMap<>();
  /** Told (on the health loop, so it must not block) each time a cluster finishes warming. */
  private volatile Runnable warmListener = () -> { };

  private static final class Entry {
    ClusterConfig config;
    ClusterHealth health;
    ClusterHealthChecker checker;
    /** Its first checks are done (or timed out); false while warming. Guarded by the service. */
    boolean warm;
    final Map<EndpointConfig, EndpointHealth> byEndpoint = new HashMap<>();
  }

  public HealthCheckService(Transport transport, StatsRegistry stats) {
    this.transport = transport;
    this.stats = stats;
  }

  /** The health of {@code cluster}'s endpoints, with its checker running; null when it has no health check. */
  public synchronized ClusterHealth forCluster(ClusterConfig cluster) {
    return forCluster(cluster, null);
  }

  /**
   * As above; when {@code resilience} tracks health (outlier detection), the checker flags the same
   * {@link EndpointHealth} objects, so ejection and failed checks are seen together.
   */
  public synchronized ClusterHealth forCluster(ClusterConfig cluster, io.keelson.dataplane.resilience.ClusterResilience resilience) {
    HealthCheckConfig hc = cluster.healthCheck();
    Entry e = clusters.get(cluster.name());
    if (hc == null) {
      if (e != null) {
        e.checker.stop();
        clusters.remove(cluster.name());
      }
      return null;
    }
    boolean shared = resilience != null && resilience.tracksHealth();
    if (e != null && e.config.equals(cluster) && (!shared || cluster.endpoints().isEmpty() || resilience.health(0) == e.health.endpoint(0))) {
      return e.health;
    }
    if (e == null) {
      e = new Entry();
      clusters.put(cluster.name(), e);
    } else {
      e.checker.stop();
    }
    // A cluster changed while still warming keeps warming: its endpoints were never all checked.
    boolean warming = !e.warm;
    List<EndpointConfig> eps = cluster.endpoints();
    EndpointHealth[] health = new EndpointHealth[eps.size()];
    // As Envoy: an endpoint never checked (every one of a new cluster, or one added to a running cluster)
    // starts failed and pending; its first check decides.
    boolean[] pending = new boolean[eps.size()];
    for (int i = 0; i < health.length; i++) {
      EndpointHealth old = e.byEndpoint.get(eps.get(i));
      pending[i] = old == null || warming;
      if (shared) {
        EndpointHealth h = resilience.health(i);
        if (old != null && old != h) {
          h.set(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK, old.has(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK));
        }
        e.byEndpoint.put(eps.get(i), h);
      }
      health[i] = e.byEndpoint.computeIfAbsent(eps.get(i), k -> new EndpointHealth());
      if (pending[i]) {
        health[i].set(EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK, true);
      }
    }
    e.byEndpoint.keySet().retainAll(eps);
    e.config = cluster;
    e.health = new ClusterHealth(health, cluster.lb().healthyPanicThreshold());
    EventLoop loop = loop();
    Probe probe = hc.check() instanceof HealthCheckConfig.Grpc
        ? new GrpcProbe(loop, hc, cluster)
        : new SocketProbe(loop, transport, hc, cluster);
    String p = "cluster." + cluster.name() + ".health_check.";
    var checkStats = new ClusterHealthChecker.HealthCheckStats(
        stats.counter(p + "attempt"), stats.counter(p + "success"), stats.counter(p + "failure"), stats.gauge(p + "healthy"));
    var clusterStats = stats.cluster(cluster.name());
    ClusterHealthChecker checker = new ClusterHealthChecker(cluster, e.health, loop, probe, checkStats, pending,
        () -> clusterStats.cxTotal.sum() > 0);
    e.checker = checker;
    Entry entry = e;
    checker.start(warming ? () -> warmed(entry, checker) : null);
    return e.health;
  }

  /** On the health loop: {@code checker}'s first checks are done; its cluster is warm unless it was replaced. */
  private void warmed(Entry e, ClusterHealthChecker checker) {
    synchronized (this) {
      if (e.checker != checker || e.warm) {
        return; // stopped: a newer config of the cluster warms on its own, or the cluster left
      }
      e.warm = true;
      notifyAll();
    }
    warmListener.run();
  }

  /**
   * True while {@code cluster} (health-checked, known to {@link #forCluster}) waits for the first checks
   * of its endpoints; false once they are done, and for clusters without health checks.
   */
  public synchronized boolean warming(String cluster) {
    Entry e = clusters.get(cluster);
    return e != null && !e.warm;
  }

  /**
   * Sets what is told each time a cluster finishes warming. It runs on the health loop: it must
   * hand the work to another thread or do it at once without blocking.
   */
  public void onClusterWarm(Runnable listener) {
    this.warmListener = java.util.Objects.requireNonNull(listener, "listener");
  }

  /**
   * Waits until no cluster is warming: the start-up path, as Envoy's initialization waits for its
   * clusters before serving. Each first check ends within its timeout and warming is bounded by
   * timeout + 1 s, so this waits at most the longest of those (plus a second of slack). Never call it
   * on the xDS thread or an event loop.
   */
  public synchronized void awaitWarm() {
    long bound = 0;
    for (Entry e : clusters.values()) {
      bound = Math.max(bound, e.checker.maxFirstCheckWait().toNanos());
    }
    long deadline = System.nanoTime() + bound + Duration.ofSeconds(1).toNanos();
    try {
      while (clusters.values().stream().anyMatch(e -> !e.warm)) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the checkers of clusters not in {@code names} (they left the config). */
  public synchronized void retain(Collection<String> names) {
    clusters.entrySet().removeIf(en -> {
      if (names.contains(en.getKey())) {
        return false;
      }
      en.getValue().checker.stop();
      return true;
    });
  }

  private EventLoop loop() {
    if (group == null) {
      group = transport.newGroup(1, "keelson-health");
    }
    return group.next();
  }

  @Override
  public synchronized void close() {
    clusters.values().forEach(en -> en.checker.stop());
    clusters.clear();
    if (group != null) {
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
      group = null;
    }
  }
}
