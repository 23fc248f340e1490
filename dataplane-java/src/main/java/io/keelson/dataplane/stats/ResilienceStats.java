package io.keelson.dataplane.stats;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.resilience.ClusterResilience;
import io.keelson.dataplane.resilience.ResilienceRegistry;
import java.util.Collection;
import java.util.Map;

/** Writes the circuit-breaker, retry and outlier-detection stats of clusters in Envoy's names. Stateless. */
final class ResilienceStats {
  private ResilienceStats() {}

  /** Counters of one cluster, under prefix {@code cluster.<name>.}. */
  static void put(Map<String, Long> out, String p, ClusterStats s) {
    out.put(p + "upstream_rq_pending_overflow", s.rqPendingOverflow.sum());
    out.put(p + "upstream_cx_overflow", s.cxOverflow.sum());
    out.put(p + "upstream_rq_retry", s.rqRetry.sum());
    out.put(p + "upstream_rq_retry_success", s.rqRetrySuccess.sum());
    out.put(p + "upstream_rq_retry_overflow", s.rqRetryOverflow.sum());
    out.put(p + "upstream_rq_retry_limit_exceeded", s.rqRetryLimitExceeded.sum());
    out.put(p + "upstream_rq_per_try_timeout", s.rqPerTryTimeout.sum());
    out.put(p + "outlier_detection.ejections_enforced_total", s.ejectionsEnforcedTotal.sum());
    out.put(p + "outlier_detection.ejections_overflow", s.ejectionsOverflow.sum());
    for (ClusterStats.EjectionType t : ClusterStats.EjectionType.values()) {
      out.put(p + "outlier_detection.ejections_detected_" + t.statName, s.ejectionsDetected[t.ordinal()].sum());
      out.put(p + "outlier_detection.ejections_enforced_" + t.statName, s.ejectionsEnforced[t.ordinal()].sum());
    }
  }

  /** Envoy's circuit_breakers.{default,high}.* gauges and outlier_detection.ejections_active. */
  static void putGauges(Map<String, Long> out, ResilienceRegistry registry) {
    registry.current().forEach((name, r) -> {
      String p = "cluster." + name + ".";
      for (boolean high : new boolean[] {false, true}) {
        CircuitBreakerConfig.Thresholds t = r.config().circuitBreakers().of(high);
        CircuitBreakers.Resources res = r.breakers().of(high);
        String b = p + "circuit_breakers." + (high ? "high" : "default") + ".";
        int maxRetries = res.maxRetries(t);
        out.put(b + "cx_open", res.connections() >= t.maxConnections() ? 1L : 0L);
        out.put(b + "rq_pending_open", res.pending() >= t.maxPendingRequests() ? 1L : 0L);
        out.put(b + "rq_open", res.requests() >= t.maxRequests() ? 1L : 0L);
        out.put(b + "rq_retry_open", res.retries() >= maxRetries ? 1L : 0L);
        out.put(b + "remaining_cx", (long) Math.max(0, t.maxConnections() - res.connections()));
        out.put(b + "remaining_pending", (long) Math.max(0, t.maxPendingRequests() - res.pending()));
        out.put(b + "remaining_rq", (long) Math.max(0, t.maxRequests() - res.requests()));
        out.put(b + "remaining_retries", (long) Math.max(0, maxRetries - res.retries()));
      }
      if (r.detector() != null) {
        out.put(p + "outlier_detection.ejections_active", (long) r.detector().ejectedCount());
      }
    });
  }

  static void writePrometheus(PrometheusWriter w, Collection<ClusterStats> clusters, ResilienceRegistry registry) {
    counter(w, clusters, "envoy_cluster_upstream_rq_pending_overflow", s -> s.rqPendingOverflow.sum());
    counter(w, clusters, "envoy_cluster_upstream_cx_overflow", s -> s.cxOverflow.sum());
    counter(w, clusters, "envoy_cluster_upstream_rq_retry", s -> s.rqRetry.sum());
    counter(w, clusters, "envoy_cluster_upstream_rq_retry_success", s -> s.rqRetrySuccess.sum());
    counter(w, clusters, "envoy_cluster_upstream_rq_retry_overflow", s -> s.rqRetryOverflow.sum());
    counter(w, clusters, "envoy_cluster_upstream_rq_retry_limit_exceeded", s -> s.rqRetryLimitExceeded.sum());
    counter(w, clusters, "envoy_cluster_upstream_rq_per_try_timeout", s -> s.rqPerTryTimeout.sum());
    counter(w, clusters, "envoy_cluster_outlier_detection_ejections_enforced_total", s -> s.ejectionsEnforcedTotal.sum());
    Map<String, ClusterResilience> current = registry.current();
    w.type("envoy_cluster_outlier_detection_ejections_active", "gauge");
    current.forEach((name, r) -> {
      if (r.detector() != null) {
        w.sample("envoy_cluster_outlier_detection_ejections_active", r.detector().ejectedCount(), "envoy_cluster_name", name);
      }
    });
    w.type("envoy_cluster_circuit_breakers_default_rq_open", "gauge");
    current.forEach((name, r) -> w.sample("envoy_cluster_circuit_breakers_default_rq_open",
        r.breakers().of(false).requests() >= r.config().circuitBreakers().defaultPriority().maxRequests() ? 1 : 0,
        "envoy_cluster_name", name));
  }

  private static void counter(PrometheusWriter w, Collection<ClusterStats> clusters, String name,
      java.util.function.ToLongFunction<ClusterStats> value) {
    w.type(name, "counter");
    clusters.forEach(s -> w.sample(name, value.applyAsLong(s), "envoy_cluster_name", s.name));
  }
}
