package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * Envoy's {@code envoy.filters.network.tcp_proxy}: each accepted connection goes to one cluster,
 * chosen by weight. Immutable.
 *
 * @param statPrefix  Envoy's stat_prefix
 * @param clusters    one entry (weight 1) for {@code cluster}, several for {@code weighted_clusters};
 *                    header mutations are always {@link HeaderMutations#NONE}
 * @param totalWeight sum of the weights (the pick is uniform over [0, totalWeight))
 * @param idleTimeout Envoy's idle_timeout (default 1 h; ZERO disables)
 * @param rbac        the chain's {@code envoy.filters.network.rbac} filters before the tcp_proxy, in order
 *                    (each checked once per connection; the first denial closes it); empty when none
 * @param accessLogs  Envoy's access_log: one entry per downstream connection when it closes; empty for none
 * @param accessLogOnConnected Envoy's access_log_options.flush_access_log_on_connected: one more entry when the
 *                    upstream connection is established
 * @param accessLogFlushInterval Envoy's access_log_options.access_log_flush_interval: an entry this often while a
 *                    connection relays; null for none
 * @param extAuthz    the chain's {@code envoy.filters.network.ext_authz} filter, or null: one Check per connection
 * @param extAuthzAfter how many of the {@code rbac} filters come before {@code extAuthz} in the chain (their shadow
 *                    results are its filter_enabled_metadata's input); the rest are checked after its answer
 * @param tunneling   Envoy's tunneling_config: the connection carried in an HTTP/2 CONNECT (or POST) stream to the
 *                    cluster's endpoint; null for plain TCP
 * @param hashSourceIp Envoy's hash_policy {@code source_ip}: the endpoint is picked with the hash of the downstream's
 *                    IP (a ring hash or Maglev cluster then keeps one client on one endpoint)
 * @param istioMetrics the chain's {@code istio.stats} network filter's metric overrides (Istio's Telemetry
 *                    {@code metrics} for istio_tcp_*); empty for none
 * @param gates       the chain's {@code envoy.filters.network.local_ratelimit} and {@code connection_limit} filters, in
 *                    chain order: each decides on a new connection before anything else runs; empty for none
 * @param peerExchangeProtocol the ALPN protocol of the chain's {@code envoy.filters.network.metadata_exchange} filter
 *                    (Istio's TCP metadata exchange, {@code istio-peer-exchange}), or null for none
 */
public record TcpProxyConfig(
    String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout,
    List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac, List<AccessLogConfig> accessLogs, boolean accessLogOnConnected,
    Duration accessLogFlushInterval, io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig extAuthz,
    int extAuthzAfter, TcpTunnelingConfig tunneling, boolean hashSourceIp,
    List<io.keelson.dataplane.stats.IstioMetricsConfig.Override> istioMetrics,
    List<io.keelson.dataplane.filter.ConnectionGateConfig> gates, String peerExchangeProtocol) {

  /** Envoy's default idle_timeout for tcp_proxy. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);

  public TcpProxyConfig {
    clusters = List.copyOf(clusters);
    rbac = rbac == null ? List.of() : List.copyOf(rbac);
    accessLogs = accessLogs == null ? List.of() : List.copyOf(accessLogs);
    istioMetrics = istioMetrics == null ? List.of() : List.copyOf(istioMetrics);
    gates = gates == null ? List.of() : List.copyOf(gates);
    if (extAuthzAfter < 0 || extAuthzAfter > rbac.size()) {
      throw new IllegalArgumentException("extAuthzAfter " + extAuthzAfter + " outside 0.." + rbac.size());
    }
  }

  /** Without tunneling_config or a hash policy. */
  public TcpProxyConfig(String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout,
      List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac, List<AccessLogConfig> accessLogs, boolean accessLogOnConnected,
      Duration accessLogFlushInterval, io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig extAuthz,
      int extAuthzAfter) {
    this(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected, accessLogFlushInterval,
        extAuthz, extAuthzAfter, null, false, List.of(), List.of(), null);
  }

  /** This config with {@code tunneling} (or null for plain TCP). */
  public TcpProxyConfig withTunneling(TcpTunnelingConfig tunneling) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, extAuthz, extAuthzAfter, tunneling, hashSourceIp, istioMetrics, gates, peerExchangeProtocol);
  }

  /** This config with the istio.stats network filter's metric overrides (empty for none). */
  public TcpProxyConfig withIstioMetrics(List<io.keelson.dataplane.stats.IstioMetricsConfig.Override> metrics) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, extAuthz, extAuthzAfter, tunneling, hashSourceIp, metrics, gates, peerExchangeProtocol);
  }

  /** This config with Istio's TCP metadata exchange under ALPN {@code protocol} (null for none). */
  public TcpProxyConfig withPeerExchange(String protocol) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, extAuthz, extAuthzAfter, tunneling, hashSourceIp, istioMetrics, gates, protocol);
  }

  /** This config with hash_policy source_ip on or off. */
  public TcpProxyConfig withHashSourceIp(boolean on) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, extAuthz, extAuthzAfter, tunneling, on, istioMetrics, gates, peerExchangeProtocol);
  }

  /** Without a network ext_authz filter. */
  public TcpProxyConfig(String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout,
      List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac, List<AccessLogConfig> accessLogs, boolean accessLogOnConnected,
      Duration accessLogFlushInterval) {
    this(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected, accessLogFlushInterval, null, 0);
  }

  /** Without an entry on connect. */
  public TcpProxyConfig(String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout,
      List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac, List<AccessLogConfig> accessLogs) {
    this(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, false, null);
  }

  /** Without access logs. */
  public TcpProxyConfig(String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout,
      List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac) {
    this(statPrefix, clusters, totalWeight, idleTimeout, rbac, List.of());
  }

  /** Without network RBAC filters. */
  public TcpProxyConfig(String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout) {
    this(statPrefix, clusters, totalWeight, idleTimeout, List.of(), List.of());
  }

  /** Without connection gates. */
  public TcpProxyConfig(String statPrefix, List<RouteAction.WeightedCluster> clusters, int totalWeight, Duration idleTimeout,
      List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac, List<AccessLogConfig> accessLogs, boolean accessLogOnConnected,
      Duration accessLogFlushInterval, io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig extAuthz,
      int extAuthzAfter, TcpTunnelingConfig tunneling, boolean hashSourceIp,
      List<io.keelson.dataplane.stats.IstioMetricsConfig.Override> istioMetrics) {
    this(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected, accessLogFlushInterval,
        extAuthz, extAuthzAfter, tunneling, hashSourceIp, istioMetrics, List.of(), null);
  }

  /** This config with these connection gates (local_ratelimit, connection_limit) in front, in chain order. */
  public TcpProxyConfig withGates(List<io.keelson.dataplane.filter.ConnectionGateConfig> gates) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, extAuthz, extAuthzAfter, tunneling, hashSourceIp, istioMetrics, gates, peerExchangeProtocol);
  }

  /** This config with these network RBAC filters in front. */
  public TcpProxyConfig withRbac(List<io.keelson.dataplane.rbac.NetworkRbacConfig> filters) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, filters, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, null, 0, tunneling, hashSourceIp, istioMetrics, gates, peerExchangeProtocol);
  }

  /**
   * This config with these network filters in front: {@code rbac} in order, and {@code extAuthz} (or null) after the
   * first {@code extAuthzAfter} of them.
   */
  public TcpProxyConfig withNetworkFilters(List<io.keelson.dataplane.rbac.NetworkRbacConfig> rbac,
      io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig extAuthz, int extAuthzAfter) {
    return new TcpProxyConfig(statPrefix, clusters, totalWeight, idleTimeout, rbac, accessLogs, accessLogOnConnected,
        accessLogFlushInterval, extAuthz, extAuthzAfter, tunneling, hashSourceIp, istioMetrics, gates, peerExchangeProtocol);
  }

  /** The cluster name when there is exactly one, else null (use the weights). */
  public String cluster() {
    return clusters.size() == 1 ? clusters.getFirst().name() : null;
  }
}
