package io.keelson.dataplane.health;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HealthCheckConfig;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Checks every endpoint of one cluster at its interval (plus jitter) and applies Envoy's thresholds:
 * {@code unhealthy_threshold} consecutive failures mark an endpoint failed, {@code healthy_threshold}
 * consecutive successes clear it. Endpoints start healthy and are first checked right away. All state
 * is confined to the health event loop; {@link #stop} may be called from any thread.
 */
final class ClusterHealthChecker {
  private final HealthCheckConfig config;
  private final List<EndpointConfig> endpoints;
  private final ClusterHealth health;
  private final EventLoop loop;
  private final Probe probe;
  private final SplittableRandom random = new SplittableRandom();
  private final int[] successes;
  private final int[] failures;
  private final HealthCheckStats stats;
  private volatile boolean stopped;

  ClusterHealthChecker(ClusterConfig cluster, ClusterHealth health, EventLoop loop, Probe probe, HealthCheckStats stats) {
    this.config = cluster.healthCheck();
    this.endpoints = cluster.endpoints();
    this.health = health;
    this.loop = loop;
    this.probe = probe;
    this.stats = stats;
    this.successes = new int[endpoints.size()];
    this.failures = new int[endpoints.size()];
  }

  void start() {
    for (int i = 0; i < endpoints.size(); i++) {
      int index = i;
      loop.execute(() -> check(index));
    }
  }

  void stop() {
    stopped = true;
    probe.close();
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
    if (healthy) {
      stats.success().increment();
      failures[index] = 0;
      if (++successes[index] >= config.healthyThreshold()) {
        health.markFailed(index, false);
      }
    } else {
      stats.failure().increment();
      successes[index] = 0;
      if (++failures[index] >= config.unhealthyThreshold()) {
        health.markFailed(index, true);
      }
    }
    stats.healthy().set(health.size() - health.failedCount());
    long next = config.interval().toNanos();
    long jitter = config.intervalJitter().toNanos();
    if (jitter > 0) {
      next += random.nextLong(jitter);
    }
    loop.schedule(() -> check(index), next, TimeUnit.NANOSECONDS);
  }

  /** Envoy's {@code cluster.<name>.health_check.*} counters. */
  record HealthCheckStats(LongAdder attempt, LongAdder success, LongAdder failure, AtomicLong healthy) {}
}
