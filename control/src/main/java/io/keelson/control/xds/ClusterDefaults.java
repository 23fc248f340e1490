package io.keelson.control.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.keelson.control.policy.Policy;

/**
 * What every cluster to a mesh destination gets from the mesh and its DestinationRule, in one place, whichever
 * translation builds it (a registry Service's EDS cluster and its subsets, a ServiceEntry host's STATIC, DNS or
 * ORIGINAL_DST cluster and its subsets; a captured sidecar's passthrough and app clusters, which no DestinationRule
 * names): istiod's default circuit-breaker thresholds with the rule's connection pool
 * limits over them and its outlier detection ({@link ResilienceBuilder}), and the upstream HTTP protocol with the
 * pool's HTTP settings ({@link UpstreamProtocols}), and its {@code tcp.connectTimeout} and {@code tcp.tcpKeepalive}.
 * Stateless.
 */
final class ClusterDefaults {
  private ClusterDefaults() {}

  /**
   * @param dr            the destination's DestinationRule, or null
   * @param http2         the cluster speaks HTTP/2 upstream
   * @param istioDefaults istiod's unlimited default thresholds (not for proxyless gRPC clients:
   *                      {@link ResilienceBuilder#apply(Cluster.Builder, Policy.DestinationRule, boolean)})
   * @param outliers      the rule's outlier detection too (not for ORIGINAL_DST clusters: no host set to eject from)
   */
  static void apply(Cluster.Builder c, Policy.DestinationRule dr, boolean http2, boolean istioDefaults,
      boolean outliers) {
    Policy.DestinationRule limits = dr == null || outliers ? dr
        : new Policy.DestinationRule(dr.meta(), dr.host(), null, java.util.List.of(), dr.connectionPool(), null);
    ResilienceBuilder.apply(c, limits, istioDefaults);
    UpstreamProtocols.apply(c, http2, dr == null ? null : dr.connectionPool());
    Policy.ConnectionPool pool = dr == null ? null : dr.connectionPool();
    if (pool != null && pool.connectTimeout() != null) {
      c.setConnectTimeout(ResilienceBuilder.duration(pool.connectTimeout()));
    }
    if (pool != null && pool.tcpKeepalive() != null) { // istiod's applyTCPKeepalive: whole seconds
      Policy.TcpKeepalive k = pool.tcpKeepalive();
      var keepalive = io.envoyproxy.envoy.config.core.v3.TcpKeepalive.newBuilder();
      if (k.probes() != null) {
        keepalive.setKeepaliveProbes(com.google.protobuf.UInt32Value.of(k.probes()));
      }
      if (k.time() != null) {
        keepalive.setKeepaliveTime(com.google.protobuf.UInt32Value.of((int) k.time().getSeconds()));
      }
      if (k.interval() != null) {
        keepalive.setKeepaliveInterval(com.google.protobuf.UInt32Value.of((int) k.interval().getSeconds()));
      }
      c.setUpstreamConnectionOptions(io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions.newBuilder()
          .setTcpKeepalive(keepalive));
    }
  }

  /** The defaults alone, for a cluster no DestinationRule names (istiod's passthrough and inbound clusters). */
  static void apply(Cluster.Builder c) {
    apply(c, null, false, true, false);
  }
}
