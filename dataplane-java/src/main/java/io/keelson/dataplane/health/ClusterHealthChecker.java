package io.keelson.dataplane.health;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HealthCheckConfig;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * Checks every endpoint of one cluster and applies Envoy's thresholds: {@code unhealthy_threshold}
 * consecutive failures mark an endpoint failed, {@code healthy_threshold} consecutive successes clear
 * it. An endpoint that has never been checked (flagged {@code pending} by its creator, which also marks
 * it failed, as Envoy marks a new host FAILED_ACTIVE_HC) becomes healthy on its first success and
 * stays out on a first failure. Every endpoint is first checked at once; the next check comes after
 * Envoy's interval for its state: {@code no_traffic_interval} while the cluster has never opened an
 * upstream connection, else {@code unhealthy_edge_interval} / {@code healthy_edge_interval} right after
 * a change, {@code unhealthy_interval} while unhealthy, {@code interval} otherwise; plus jitter. All
 * state is confined to the health event loop; {@link #start} and {@link #stop} may be called from
 * any thread. The warm callback given to {@link #start} runs once on the health loop when every
 * pending endpoint had its first result, or when {@link #maxFirstCheckWait} has passed (a check that
 * outlives its timeout must not keep a cluster warming for ever), never after {@link #stop}.
 */
final class ClusterHealthChecker {
  private final HealthCheckConfig config;
  private final List<EndpointConfig> endpoints;
  private final ClusterHealth health;
  private final EventLoop loop;
  private final Probe probe;
  private final BooleanSupplier trafficSeen;
  private final SplittableRandom random = new SplittableRandom();
  private final int[] successes;
  private final int[] failures;
  private final boolean[] pending;
  /** Pending endpoints still without a first result; health loop only. */
  private int firstChecksLeft;
  /** Told when the first checks are done; null once told (or when nobody asked). Health loop only. */
  private Runnable onWarm;
  private final HealthCheckStats stats;
  private boolean traffic;
  private volatile boolean stopped;

  /**
   * @param pending     endpoints never checked before (already marked failed by the caller)
   * @param trafficSeen whether the cluster has opened an upstream connection yet
   */
  ClusterHealthChecker(ClusterConfig cluster, ClusterHealth health, EventLoop loop, Probe probe, HealthCheckStats stats,
      boolean[] pending, BooleanSupplier trafficSeen) {
    this.config = cluster.healthCheck();
    this.endpoints = cluster.endpoints();
    this.health = health;
    this.loop = loop;
    this.probe = probe;
    this.stats = stats;
    this.trafficSeen = trafficSeen;
    this.successes = new int[endpoints.size()];
    this.failures = new int[endpoints.size()];
    this.pending = pending.clone();
    int n = 0;
    for (boolean p : pending) {
      n += p ? 1 : 0;
    }
    this.firstChecksLeft = n;
  }

  /** Starts checking every endpoint; {@code onWarm} (or null) is run on the health loop once the first checks are done. */
  void start(Runnable onWarm) {
    loop.execute(() -> {
      this.onWarm = onWarm;
      if (firstChecksLeft == 0) {
        warm();
      } else if (onWarm != null) {
        loop.schedule(this::warm, maxFirstCheckWait().toNanos(), TimeUnit.NANOSECONDS);
      }
    });
    for (int i = 0; i < endpoints.size(); i++) {
      int index = i;
      loop.execute(() -> check(index));
    }
  }

  void stop() {
    stopped = true;
    probe.close();
  }

  private void warm() {
    Runnable r = onWarm;
    onWarm = null;
    if (r != null && !stopped) {
      r.run();
    }
  }

  /** How long the first checks can take: the check timeout, plus a second for scheduling. */
  Duration maxFirstCheckWait() {
    return config.timeout().plusSeconds(1);
  }

  private void check(int index) {
    if (stopped) {
      return;
    }
    stats.attempt().increment();
    probe.probe(endpoints.get(index), healthy -> onResult(index, healthy));
  }

  private void onResult(int index, boolean healthy) {
    if (stopped) {
      return;
    }
    boolean first = pending[index];
    boolean wasFailed = health.endpoint(index).has(io.keelson.dataplane.balance.EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK);
    if (healthy) {
      stats.success().increment();
      failures[index] = 0;
      if (++successes[index] >= config.healthyThreshold() || first) {
        health.markFailed(index, false);
      }
    } else {
      stats.failure().increment();
      successes[index] = 0;
      if (++failures[index] >= config.unhealthyThreshold()) {
        health.markFailed(index, true);
      }
    }
    if (first) {
      pending[index] = false;
      if (--firstChecksLeft == 0) {
        warm();
      }
    }
    boolean failedNow = health.endpoint(index).has(io.keelson.dataplane.balance.EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK);
    stats.healthy().set(health.size() - health.failedCount());
    long next = nextIntervalNanos(failedNow, !first && failedNow != wasFailed);
    long jitter = config.intervalJitter().toNanos();
    if (jitter > 0) {
      next += random.nextLong(jitter);
    }
    loop.schedule(() -> check(index), next, TimeUnit.NANOSECONDS);
  }

  private long nextIntervalNanos(boolean unhealthy, boolean changed) {
    HealthCheckConfig.Intervals i = config.intervals();
    if (!traffic) {
      traffic = trafficSeen.getAsBoolean(); // once seen, for good
    }
    if (!traffic) {
      return (unhealthy ? i.noTraffic() : i.noTrafficHealthy()).toNanos();
    }
    if (unhealthy) {
      return (changed ? i.unhealthyEdge() : i.unhealthy()).toNanos();
    }
    return (changed ? i.healthyEdge() : config.interval()).toNanos();
  }

  /** Envoy's {@code cluster.<name>.health_check.*} counters. */
  record HealthCheckStats(LongAdder attempt, LongAdder success, LongAdder failure, AtomicLong healthy) {}
}
