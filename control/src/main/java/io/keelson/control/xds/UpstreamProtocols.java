package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;

/**
 * The HTTP protocol of a sidecar's upstream hops, chosen as istiod chooses it:
 * <ul>
 *   <li>a cluster to a service speaks HTTP/2 when one of the service's HTTP ports is {@code HTTP2} or {@code GRPC}
 *       (one cluster serves all of a service's ports; the destination sidecar's connection manager takes HTTP/2
 *       whatever its app speaks), or when its DestinationRule sets {@code h2UpgradePolicy: UPGRADE}; otherwise
 *       HTTP/1.1;
 *   <li>a cluster to a ServiceEntry host's port speaks HTTP/2 when that port is {@code HTTP2} or {@code GRPC}, or an
 *       HTTP port whose DestinationRule sets {@code h2UpgradePolicy: UPGRADE};
 *   <li>a sidecar's cluster to its own app speaks HTTP/2 when the app's port is {@code HTTP2} or {@code GRPC} (the
 *       Service port equal to the app port, else the Service's only port).
 * </ul>
 * Written as {@code typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]}
 * with explicit {@code http2_protocol_options} (connectionPool's {@code maxConcurrentStreams} as
 * {@code max_concurrent_streams}) and connectionPool's idle timeout; mTLS clusters that speak HTTP/2 offer
 * {@code h2} by ALPN ({@link MeshMtls#upstream(java.util.Collection, boolean)}). Stateless.
 */
final class UpstreamProtocols {
  static final String OPTIONS = ResilienceBuilder.UPSTREAM_OPTIONS;

  private UpstreamProtocols() {}

  /** True when the cluster(s) of {@code svc} speak HTTP/2 upstream. */
  static boolean http2(Policy.Service svc, Policy.DestinationRule dr) {
    for (int port : svc.ports()) {
      if (svc.protocol(port).http2()) {
        return true;
      }
    }
    Policy.ConnectionPool cp = dr == null ? null : dr.connectionPool();
    return cp != null && cp.h2Upgrade() == Policy.H2Upgrade.UPGRADE;
  }

  /**
   * True when a ServiceEntry's cluster for {@code port} speaks HTTP/2 upstream: the port is {@code HTTP2} or
   * {@code GRPC}, or an HTTP port whose DestinationRule sets {@code h2UpgradePolicy: UPGRADE} (istiod: one cluster
   * per entry port, so the port's own protocol decides; TCP and TLS ports never).
   */
  static boolean http2(Policy.EntryPort port, Policy.DestinationRule dr) {
    if (port.protocol().http2()) {
      return true;
    }
    Policy.ConnectionPool cp = dr == null ? null : dr.connectionPool();
    return port.protocol().http() && cp != null && cp.h2Upgrade() == Policy.H2Upgrade.UPGRADE;
  }

  /**
   * True when the app of a {@code service} workload on {@code appPort} speaks HTTP/2: the Service's port equal to
   * {@code appPort}, else its only port, is HTTP2 or GRPC.
   */
  static boolean appHttp2(PolicySet state, String service, int appPort) {
    Policy.Protocol p = appProtocol(state, service, appPort);
    return p != null && p.http2();
  }

  /**
   * The protocol a {@code service} workload's app on {@code appPort} speaks: that of the Service's port equal to
   * {@code appPort}, else of its only port; null when {@code service} is no registry Service or neither applies.
   */
  static Policy.Protocol appProtocol(PolicySet state, String service, int appPort) {
    if (service == null || !(state.service(service) instanceof Policy.Service svc)) {
      return null;
    }
    int port = svc.ports().contains(appPort) ? appPort : svc.ports().size() == 1 ? svc.ports().getFirst() : -1;
    return port > 0 ? svc.protocol(port) : null;
  }

  /**
   * Sets {@code c}'s upstream HTTP options: HTTP/2 when {@code http2}; HTTP/1.1 explicitly only when an idle
   * timeout needs the options at all (Envoy's default is HTTP/1.1).
   */
  static void apply(Cluster.Builder c, boolean http2, Policy.ConnectionPool cp) {
    var options = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder();
    if (cp != null && (cp.idleTimeout() != null || cp.maxConnectionDuration() != null
        || cp.maxRequestsPerConnection() != null)) {
      HttpProtocolOptions.Builder common = HttpProtocolOptions.newBuilder();
      if (cp.idleTimeout() != null) {
        common.setIdleTimeout(ResilienceBuilder.duration(cp.idleTimeout()));
      }
      if (cp.maxConnectionDuration() != null) { // istiod's applyConnectionPool: tcp.maxConnectionDuration
        common.setMaxConnectionDuration(ResilienceBuilder.duration(cp.maxConnectionDuration()));
      }
      if (cp.maxRequestsPerConnection() != null) {
        common.setMaxRequestsPerConnection(UInt32Value.of(cp.maxRequestsPerConnection()));
      }
      options.setCommonHttpProtocolOptions(common);
    }
    var explicit = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig.newBuilder();
    if (http2) {
      Http2ProtocolOptions.Builder h2 = Http2ProtocolOptions.newBuilder();
      if (cp != null && cp.maxConcurrentStreams() != null) {
        h2.setMaxConcurrentStreams(UInt32Value.of(cp.maxConcurrentStreams()));
      }
      explicit.setHttp2ProtocolOptions(h2);
    } else if (options.hasCommonHttpProtocolOptions()) {
      explicit.setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance());
    } else {
      return;
    }
    c.putTypedExtensionProtocolOptions(OPTIONS, Any.pack(options.setExplicitHttpConfig(explicit).build()));
  }

  /** {@code app} (a sidecar's static cluster to its app) speaking HTTP/2. */
  static Cluster http2(Cluster app) {
    Cluster.Builder c = app.toBuilder();
    apply(c, true, null);
    return c.build();
  }

  /** The plain sidecar's app cluster ({@value MeshMtls#APP_CLUSTER}, its bootstrap's name) to 127.0.0.1:{@code appPort} over HTTP/2. */
  static Cluster http2App(int appPort) {
    return http2(CapturedListeners.localAppCluster(MeshMtls.APP_CLUSTER, appPort));
  }
}
