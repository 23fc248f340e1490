package io.keelson.dataplane.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;
import io.keelson.dataplane.xds.ResourceType;
import io.keelson.dataplane.xds.XdsStats;

/**
 * All counters of one proxy process. Lookups happen when a snapshot is built, never per request.
 * Thread-safe.
 */
public final class StatsRegistry {
  private final ConcurrentMap<String, HttpStats> http = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, ClusterStats> clusters = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, TlsStats> tls = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, TcpStats> tcp = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, IstioTcpDestination> istioTcp = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, java.util.concurrent.atomic.LongAdder> counters = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, java.util.concurrent.atomic.AtomicLong> gauges = new ConcurrentHashMap<>();
  private final IstioDestination unknownDestination = new IstioDestination(MeshIdentity.UNKNOWN);
  private volatile MeshIdentity identity = MeshIdentity.UNKNOWN_IDENTITY;
  private volatile PeerMetadata.Own ownPeerMetadata = PeerMetadata.of(MeshIdentity.UNKNOWN_IDENTITY);
  private final PeerMetadataCache peerMetadata = new PeerMetadataCache();
  /** Decoded TCP exchange frames ({@link PeerExchangeFrame#key}), bounded as the header cache. */
  private final PeerMetadataCache tcpPeerMetadata =
      new PeerMetadataCache(PeerMetadataCache.MAX_ENTRIES, PeerExchangeFrame::decodeKey);
  /** istio_tcp_* series kept apart by peer certificate, at most. */
  static final int MAX_ISTIO_TCP = 4096;
  /** Distinct metric override configs kept shared; the least recently looked up one is evicted past it. */
  static final int MAX_ISTIO_METRICS_CONFIGS = 256;
  /** Guarded by itself; in access order, evicting the least recently looked up config. */
  private final Map<List<IstioMetricsConfig.Override>, IstioMetricsConfig> istioMetrics =
      new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<IstioMetricsConfig.Override>, IstioMetricsConfig> eldest) {
          return size() > MAX_ISTIO_METRICS_CONFIGS;
        }
      };
  private volatile Supplier<XdsStats> xds;
  private final ServerState server = new ServerState();
  private final io.keelson.dataplane.resilience.ResilienceRegistry resilience =
      new io.keelson.dataplane.resilience.ResilienceRegistry(System::nanoTime);

  /** Circuit breakers, endpoint health and outlier detectors of every cluster, kept across snapshots. */
  public io.keelson.dataplane.resilience.ResilienceRegistry resilience() {
    return resilience;
  }

  /** The process's health check state (admin /healthcheck/fail, draining). */
  public ServerState server() {
    return server;
  }

  public HttpStats http(String statPrefix) {
    return http.computeIfAbsent(statPrefix, p -> new HttpStats(p, unknownDestination));
  }

  /**
   * A named counter outside the fixed sets (HTTP filters', mirroring's), by its full Envoy name such as
   * {@code http.ingress.fault.aborts_injected}; the same name gives the same counter. Look it up once
   * (at snapshot build or first use), never per request.
   */
  public java.util.concurrent.atomic.LongAdder counter(String name) {
    return counters.computeIfAbsent(name, n -> new java.util.concurrent.atomic.LongAdder());
  }

  /** A named gauge, as {@link #counter}. */
  public java.util.concurrent.atomic.AtomicLong gauge(String name) {
    return gauges.computeIfAbsent(name, n -> new java.util.concurrent.atomic.AtomicLong());
  }

  /** The proxy's identity for Istio's labels (from the bootstrap node); may change at any time. */
  public void identity(MeshIdentity id) {
    this.ownPeerMetadata = PeerMetadata.of(id);
    this.identity = id;
  }

  public MeshIdentity identity() {
    return identity;
  }

  /** Where the xDS client's counters come from, when one runs; null for none. */
  public void xds(Supplier<XdsStats> source) {
    this.xds = source;
  }

  public ClusterStats cluster(String name) {
    return clusters.computeIfAbsent(name, ClusterStats::new);
  }

  /** TLS counters of {@code listener.<name>} or {@code cluster.<name>}. */
  public TlsStats tls(String scope) {
    return tls.computeIfAbsent(scope, TlsStats::new);
  }

  /** tcp_proxy counters of one stat_prefix. */
  public TcpStats tcp(String statPrefix) {
    return tcp.computeIfAbsent(statPrefix, TcpStats::new);
  }

  /** Istio's TCP metrics towards one cluster. */
  public IstioTcpDestination istioTcp(String cluster) {
    return istioTcp(cluster, null, null);
  }

  /**
   * Istio's TCP metrics towards one cluster from the downstream peer certificate {@code peerPrincipal} (null for none)
   * through a tcp_proxy with metric overrides {@code view} (null for none); looked up once per connection. Past
   * {@link #MAX_ISTIO_TCP} entries any new (principal, view) shares one of the cluster's two overflow entries, without
   * overrides: the principal-less mutual TLS one (still {@code connection_security_policy="mutual_tls"}) or the
   * plaintext one.
   */
  public IstioTcpDestination istioTcp(String cluster, String peerPrincipal, IstioMetricsConfig view) {
    return istioTcp(cluster, peerPrincipal, null, view);
  }

  /**
   * As {@link #istioTcp(String, String, IstioMetricsConfig)}, with the workload the TCP metadata exchange named at the
   * other end ({@code peer}, null for none: the source inbound, the destination outbound); looked up when the exchange
   * completes. Past the bound, an exchanged peer is reported as unknown.
   */
  public IstioTcpDestination istioTcp(String cluster, String peerPrincipal, MeshIdentity peer, IstioMetricsConfig view) {
    String key = (peerPrincipal == null ? cluster : cluster + '\n' + peerPrincipal) + (view == null ? "" : "\n#" + view.id)
        + (peer == null ? "" : "\n@" + peer);
    IstioTcpDestination d = istioTcp.get(key);
    if (d != null) {
      return d;
    }
    if (istioTcp.size() >= MAX_ISTIO_TCP) {
      boolean mutualTls = peerPrincipal != null;
      if (!mutualTls && view == null) {
        return istioTcp.computeIfAbsent(cluster, k -> new IstioTcpDestination(cluster, null));
      }
      return istioTcp.computeIfAbsent(cluster + (mutualTls ? "\n\0" : "\n\1"),
          k -> new IstioTcpDestination(cluster, null, null, mutualTls));
    }
    return istioTcp.computeIfAbsent(key, k -> new IstioTcpDestination(cluster, peerPrincipal, view, peerPrincipal != null, peer));
  }

  /**
   * The shared metric overrides for {@code overrides}: one instance per distinct config while it is among the
   * {@link #MAX_ISTIO_METRICS_CONFIGS} most recently looked up, so a new snapshot with the same overrides keeps
   * recording into the same series. Look it up when a snapshot is built, never per request or connection: an evicted
   * config's next lookup builds a new instance (whose series are kept apart).
   *
   * @throws IllegalArgumentException more than {@link IstioMetricsConfig#MAX_EVALUATED} expressions per request
   */
  public IstioMetricsConfig istioMetrics(List<IstioMetricsConfig.Override> overrides) {
    synchronized (istioMetrics) {
      IstioMetricsConfig c = istioMetrics.get(overrides);
      if (c == null) {
        c = new IstioMetricsConfig(overrides);
        istioMetrics.put(c.overrides, c);
      }
      return c;
    }
  }

  /** Distinct metric override configs kept shared now. */
  int istioMetricsShared() {
    synchronized (istioMetrics) {
      return istioMetrics.size();
    }
  }

  /** This proxy's own metadata exchange headers (from {@link #identity()}). */
  public PeerMetadata.Own ownPeerMetadata() {
    return ownPeerMetadata;
  }

  /** Decoded peer metadata headers, shared by every listener. */
  public PeerMetadataCache peerMetadata() {
    return peerMetadata;
  }

  /** Decoded TCP exchange frames, keyed by {@link PeerExchangeFrame#key}. */
  public PeerMetadataCache tcpPeerMetadata() {
    return tcpPeerMetadata;
  }

  public Map<String, ClusterStats> clusters() {
    return Map.copyOf(clusters);
  }

  /** Envoy's admin {@code /stats} text form: {@code name: value}, one per line, sorted. */
  public String toEnvoyText() {
    java.util.TreeMap<String, Long> out = new java.util.TreeMap<>();
    http.values().forEach(s -> {
      String p = "http." + s.prefix + ".";
      out.put(p + "downstream_cx_total", s.cxTotal.sum());
      out.put(p + "downstream_cx_active", s.cxActive.sum());
      out.put(p + "downstream_cx_upgrades_total", s.cxUpgradesTotal.sum());
      out.put(p + "downstream_cx_upgrades_active", s.cxUpgradesActive.sum());
      out.put(p + "downstream_rq_total", s.rqTotal.sum());
      out.put(p + "downstream_rq_timeout", s.rqTimeout.sum());
      out.put(p + "downstream_rq_rejected_bad_request", s.rqRejectedBadRequest.sum());
      out.put(p + "downstream_rq_idle_timeout", s.rqIdleTimeout.sum());
      out.put(p + "downstream_rq_too_many_premature_resets", s.rqTooManyPrematureResets.sum());
      out.put(p + "downstream_rq_rx_reset", s.rqRxReset.sum());
      out.put(p + "downstream_cx_http2_total", s.cxHttp2Total.sum());
      out.put(p + "downstream_cx_http2_active", s.cxHttp2Active.sum());
      out.put(p + "downstream_cx_http3_total", s.cxHttp3Total.sum());
      out.put(p + "downstream_cx_http3_active", s.cxHttp3Active.sum());
      out.put(p + "downstream_rq_http2_total", s.rqHttp2Total.sum());
      out.put(p + "downstream_rq_http3_total", s.rqHttp3Total.sum());
      out.put(p + "downstream_rq_failed_path_normalization", s.rqFailedPathNormalization.sum());
      out.put(p + "downstream_rq_redirected_with_normalized_path", s.rqRedirectedWithNormalizedPath.sum());
      for (int c = 1; c <= 5; c++) {
        out.put(p + "downstream_rq_" + c + "xx", s.responses(c));
      }
    });
    clusters.values().forEach(s -> {
      String p = "cluster." + s.name + ".";
      out.put(p + "upstream_rq_total", s.rqTotal.sum());
      out.put(p + "upstream_rq_active", s.rqActive.sum());
      out.put(p + "upstream_rq_timeout", s.rqTimeout.sum());
      out.put(p + "upstream_cx_total", s.cxTotal.sum());
      out.put(p + "upstream_cx_active", s.cxActive.sum());
      out.put(p + "upstream_cx_connect_fail", s.cxConnectFail.sum());
      out.put(p + "upstream_cx_connect_timeout", s.cxConnectTimeout.sum());
      out.put(p + "upstream_rq_reset_before_response", s.rqResetBeforeResponse.sum());
      out.put(p + "upstream_rq_no_healthy_upstream", s.noHealthyUpstream.sum());
      out.put(p + "grpc_json_transcoder_upstream_not_http2", s.transcoderNotHttp2.sum());
      out.put(p + "update_attempt", s.updateAttempt.sum());
      out.put(p + "update_success", s.updateSuccess.sum());
      out.put(p + "update_failure", s.updateFailure.sum());
      for (int c = 1; c <= 5; c++) {
        out.put(p + "upstream_rq_" + c + "xx", s.responses(c));
      }
      ResilienceStats.put(out, p, s);
    });
    counters.forEach((k, v) -> out.put(k, v.sum()));
    gauges.forEach((k, v) -> out.put(k, v.get()));
    ResilienceStats.putGauges(out, resilience);
    tls.values().forEach(s -> s.writeEnvoyText(out));
    tcp.values().forEach(s -> s.writeEnvoyText(out));
    out.put("server.state", (long) server.state());
    Supplier<XdsStats> x = xds;
    if (x != null) {
      XdsStats xs = x.get();
      out.put("control_plane.connected_state", xs.connected() ? 1L : 0L);
      out.put("cluster_manager.warming_clusters", (long) xs.warmingClusters());
      out.put("listener_manager.total_listeners_warming", (long) xs.warmingListeners());
      for (ResourceType t : ResourceType.values()) {
        String name = switch (t) {
          case CLUSTER -> "cluster_manager.cds.";
          case LISTENER -> "listener_manager.lds.";
          case ROUTE -> "http.rds.";
          case ENDPOINT -> "cluster_manager.eds.";
          case SECRET -> "sds.";
        };
        out.put(name + "update_success", xs.accepted(t));
        out.put(name + "update_rejected", xs.rejected(t));
      }
    }
    StringBuilder b = new StringBuilder();
    out.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
    return b.toString();
  }

  /** Prometheus text exposition (version 0.0.4) in Envoy's metric names. */
  public String toPrometheus() {
    PrometheusWriter w = new PrometheusWriter();
    w.type("envoy_http_downstream_cx_total", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_cx_total", s.cxTotal.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_cx_active", "gauge");
    http.values().forEach(s -> w.sample("envoy_http_downstream_cx_active", s.cxActive.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_cx_upgrades_total", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_cx_upgrades_total", s.cxUpgradesTotal.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_cx_upgrades_active", "gauge");
    http.values().forEach(s -> w.sample("envoy_http_downstream_cx_upgrades_active", s.cxUpgradesActive.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_rq_failed_path_normalization", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_failed_path_normalization",
        s.rqFailedPathNormalization.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_rq_redirected_with_normalized_path", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_redirected_with_normalized_path",
        s.rqRedirectedWithNormalizedPath.sum(), "envoy_http_conn_manager_prefix", s.prefix));
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
    w.type("envoy_http_downstream_rq_idle_timeout", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_idle_timeout", s.rqIdleTimeout.sum(), "envoy_http_conn_manager_prefix", s.prefix));
    w.type("envoy_http_downstream_rq_too_many_premature_resets", "counter");
    http.values().forEach(s -> w.sample("envoy_http_downstream_rq_too_many_premature_resets", s.rqTooManyPrematureResets.sum(),
        "envoy_http_conn_manager_prefix", s.prefix));
    httpSeries(w, "envoy_http_downstream_rq_rx_reset", "counter", s -> s.rqRxReset.sum());
    httpSeries(w, "envoy_http_downstream_cx_http2_total", "counter", s -> s.cxHttp2Total.sum());
    httpSeries(w, "envoy_http_downstream_cx_http2_active", "gauge", s -> s.cxHttp2Active.sum());
    httpSeries(w, "envoy_http_downstream_cx_http3_total", "counter", s -> s.cxHttp3Total.sum());
    httpSeries(w, "envoy_http_downstream_cx_http3_active", "gauge", s -> s.cxHttp3Active.sum());
    httpSeries(w, "envoy_http_downstream_rq_http2_total", "counter", s -> s.rqHttp2Total.sum());
    httpSeries(w, "envoy_http_downstream_rq_http3_total", "counter", s -> s.rqHttp3Total.sum());

    clusterCounter(w, "envoy_cluster_upstream_rq_total", "counter", s -> s.rqTotal.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_active", "gauge", s -> s.rqActive.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_timeout", "counter", s -> s.rqTimeout.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_total", "counter", s -> s.cxTotal.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_active", "gauge", s -> s.cxActive.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_connect_fail", "counter", s -> s.cxConnectFail.sum());
    clusterCounter(w, "envoy_cluster_upstream_cx_connect_timeout", "counter", s -> s.cxConnectTimeout.sum());
    clusterCounter(w, "envoy_cluster_update_attempt", "counter", s -> s.updateAttempt.sum());
    clusterCounter(w, "envoy_cluster_update_success", "counter", s -> s.updateSuccess.sum());
    clusterCounter(w, "envoy_cluster_update_failure", "counter", s -> s.updateFailure.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_reset_before_response", "counter", s -> s.rqResetBeforeResponse.sum());
    clusterCounter(w, "envoy_cluster_upstream_rq_no_healthy_upstream", "counter", s -> s.noHealthyUpstream.sum());
    clusterCounter(w, "envoy_cluster_grpc_json_transcoder_upstream_not_http2", "counter",
        s -> s.transcoderNotHttp2.sum());
    w.type("envoy_cluster_upstream_rq_xx", "counter");
    clusters.values().forEach(s -> {
      for (int c = 1; c <= 5; c++) {
        w.sample("envoy_cluster_upstream_rq_xx", s.responses(c), "envoy_response_code_class", Integer.toString(c), "envoy_cluster_name", s.name);
      }
    });
    ResilienceStats.writePrometheus(w, clusters.values(), resilience);
    List<IstioDestination> destinations = new ArrayList<>();
    destinations.add(unknownDestination);
    clusters.values().forEach(c -> destinations.add(c.istio));
    IstioWriter.write(w, identity, destinations);
    TlsStats.writePrometheus(w, tls.values());
    TcpStats.writePrometheus(w, tcp.values());
    IstioTcpDestination.writePrometheus(w, identity, istioTcp.values());
    new java.util.TreeMap<>(counters).forEach((k, v) -> {
      String name = "envoy_" + k.replaceAll("[^a-zA-Z0-9_]", "_");
      w.type(name, "counter");
      w.sample(name, v.sum());
    });
    new java.util.TreeMap<>(gauges).forEach((k, v) -> {
      String name = "envoy_" + k.replaceAll("[^a-zA-Z0-9_]", "_");
      w.type(name, "gauge");
      w.sample(name, v.get());
    });
    Supplier<XdsStats> x = xds;
    if (x != null) {
      writeXds(w, x.get());
    }
    return w.toString();
  }

  private static void writeXds(PrometheusWriter w, XdsStats s) {
    w.type("envoy_control_plane_connected_state", "gauge");
    w.sample("envoy_control_plane_connected_state", s.connected() ? 1 : 0);
    w.type("keelson_xds_update_success", "counter");
    for (ResourceType t : ResourceType.values()) {
      w.sample("keelson_xds_update_success", s.accepted(t), "type", t.shortName());
    }
    w.type("keelson_xds_update_rejected", "counter");
    for (ResourceType t : ResourceType.values()) {
      w.sample("keelson_xds_update_rejected", s.rejected(t), "type", t.shortName());
    }
    w.type("keelson_xds_snapshots_published", "counter");
    w.sample("keelson_xds_snapshots_published", s.snapshotsPublished());
    w.type("keelson_xds_reconnects", "counter");
    w.sample("keelson_xds_reconnects", s.reconnects());
  }

  private void httpSeries(PrometheusWriter w, String name, String type, java.util.function.ToLongFunction<HttpStats> value) {
    w.type(name, type);
    http.values().forEach(s -> w.sample(name, value.applyAsLong(s), "envoy_http_conn_manager_prefix", s.prefix));
  }

  private void clusterCounter(PrometheusWriter w, String name, String type, java.util.function.ToLongFunction<ClusterStats> value) {
    w.type(name, type);
    clusters.values().forEach(s -> w.sample(name, value.applyAsLong(s), "envoy_cluster_name", s.name));
  }
}
