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
 * health objects survive a change for endpoints that stay. Thread-safe (snapshot swaps are rare and
 * synchronized).
 */
public final class HealthCheckService implements AutoCloseable {
  private final Transport transport;
  private final StatsRegistry stats;
  private EventLoopGroup group;
  private final Map<String, Entry> clusters = new HashMap<>();
  /** Checkers of clusters created since the last {@link #awaitInitialChecks}. */
  private final java.util.ArrayList<ClusterHealthChecker> warming = new java.util.ArrayList<>();

  private static final class Entry {
    ClusterConfig config;
    ClusterHealth health;
    ClusterHealthChecker checker;
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
    boolean created = e == null;
    if (created) {
      e = new Entry();
      clusters.put(cluster.name(), e);
    } else {
      e.checker.stop();
    }
    List<EndpointConfig> eps = cluster.endpoints();
    EndpointHealth[] health = new EndpointHealth[eps.size()];
    // As Envoy: an endpoint never checked (every one of a new cluster, or one added to a running cluster)
    // starts failed and pending; its first check decides.
    boolean[] pending = new boolean[eps.size()];
    for (int i = 0; i < health.length; i++) {
      EndpointHealth old = e.byEndpoint.get(eps.get(i));
      pending[i] = old == null;
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
        ? new GrpcProbe(loop, hc, cluster.name(), cluster.sourceAddress())
        : new SocketProbe(loop, transport, hc, cluster.name(), cluster.sourceAddress());
    String p = "cluster." + cluster.name() + ".health_check.";
    var checkStats = new ClusterHealthChecker.HealthCheckStats(
        stats.counter(p + "attempt"), stats.counter(p + "success"), stats.counter(p + "failure"), stats.gauge(p + "healthy"));
    var clusterStats = stats.cluster(cluster.name());
    e.checker = new ClusterHealthChecker(cluster, e.health, loop, probe, checkStats, pending,
        () -> clusterStats.cxTotal.sum() > 0);
    e.checker.start();
    if (created) {
      warming.add(e.checker);
    }
    return e.health;
  }

  /**
   * Waits for the first checks of the clusters created since the last call, as Envoy warms a new
   * cluster until its initial health checks are done; each check ends within its timeout, so this
   * waits at most the longest timeout + 1 s. Called once per snapshot, after every cluster's
   * {@link #forCluster}, so new clusters are checked in parallel.
   */
  public void awaitInitialChecks() {
    List<ClusterHealthChecker> checkers;
    synchronized (this) {
      checkers = List.copyOf(warming);
      warming.clear();
    }
    long deadline = System.nanoTime();
    for (ClusterHealthChecker c : checkers) {
      deadline = Math.max(deadline, System.nanoTime() + c.maxFirstCheckWait().toNanos());
    }
    for (ClusterHealthChecker c : checkers) {
      c.awaitFirstChecks(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
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
