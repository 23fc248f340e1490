package io.keelson.dataplane.stats;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * All counters of one proxy process. Lookups happen when a snapshot is built, never per request.
 * Thread-safe.
 */
public final class StatsRegistry {
  private final ConcurrentMap<String, HttpStats> http = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, ClusterStats> clusters = new ConcurrentHashMap<>();

  public HttpStats http(String statPrefix) {
    return http.computeIfAbsent(statPrefix, HttpStats::new);
  }

  public ClusterStats cluster(String name) {
    return clusters.computeIfAbsent(name, ClusterStats::new);
  }

  public Map<String, ClusterStats> clusters() {
    return Map.copyOf(clusters);
  }

  /** Prometheus text exposition (version 0.0.4) in Envoy's metric names. */
  public String toPrometheus() {
    PrometheusWriter w = new PrometheusWriter();
    w.type("envoy_http_downstream_cx_total", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_cx_total", s.cxTotal.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_cx_active", "gauge");
    http.values().forEach(s -> w.sample("envoy_http_downstream_cx_active", s.cxActive.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_rq_total", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_total", s.rqTotal.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_rq_xx", "counter");
    http.values().forEach(s -> {
      for (int c = 1; c <= 5; c++) {
        w.sample("envoy_http_downstream_rq_xx", s.responses(c), "envoy_response_code_class", Integer.toString(c), "envoy_http_conn_manager_prefix", s.prefix);
      }
    });
    w.type("envoy_http_downstream_rq_timeout", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_timeout", s.rqTimeout.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_rq_rejected_bad_request", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_rejected_bad_request", s.rqRejectedBadRequest.sum(), "envoy_http_conn_manager_prefix", s.prefix));

    clusterCounter(w, "envoy_cluster_upstream_rq_total", "counter", s -> s.rqTotal.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_active", "gauge", s -> s.rqActive.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_timeout", "counter", s -> s.rqTimeout.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_total", "counter", s -> s.cxTotal.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_active", "gauge", s -> s.cxActive.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_connect_fail", "counter", s -> s.cxConnectFail.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_connect_timeout", "counter", s -> s.cxConnectTimeout.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_reset_before_response", "counter", s -> s.rqResetBeforeResponse.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_no_healthy_upstream", "counter", s -> s.noHealthyUpstream.sum());
    w.type("envoy_cluster_upstream_rq_xx", "counter");
    clusters.values().forEach(s -> {
      for (int c = 1; c <= 5; c++) {
        w.sample("envoy_cluster_upstream_rq_xx", s.responses(c), "envoy_response_code_class", Integer.toString(c), "envoy_cluster_name", s.name);
      }
    });
    return w.toString();
  }

  private void clusterCounter(PrometheusWriter w, String name, String type, java.util.function.ToLongFunction<ClusterStats> value) {
    w.type(name, type);
    clusters.values().forEach(s -> w.sample(name, value.applyAsLong(s), "envoy_cluster_name", s.name));
  }
}
