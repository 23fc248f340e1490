package io.keelson.dataplane.filter.rls;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The global rate limit filter's counters, in Envoy's names under the route target cluster:
 * {@code cluster.<cluster>.ratelimit.ok/over_limit/error/failure_mode_allowed}. Counters are created on a cluster's
 * first call and looked up by name afterwards (no allocation). Thread-safe.
 */
final class RateLimitStats {
  /** One cluster's counters. */
  record Counters(LongAdder ok, LongAdder overLimit, LongAdder error, LongAdder failureModeAllowed) {}

  private final StatsRegistry registry;
  private final ConcurrentHashMap<String, Counters> byCluster = new ConcurrentHashMap<>();

  RateLimitStats(StatsRegistry registry) {
    this.registry = registry;
  }

  Counters of(String cluster) {
    Counters c = byCluster.get(cluster);
    return c != null ? c : byCluster.computeIfAbsent(cluster, name -> {
      String p = "cluster." + name + ".ratelimit.";
      return new Counters(registry.counter(p + "ok"), registry.counter(p + "over_limit"), registry.counter(p + "error"),
          registry.counter(p + "failure_mode_allowed"));
    });
  }
}
