package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ProxyProtocolConfig;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.keelson.control.policy.Policy;

/**
 * A DestinationRule's {@code trafficPolicy.proxyProtocol} on a cluster, as istiod builds it: the cluster's transport
 * socket (mesh mTLS or TLS origination, else raw_buffer) wrapped in {@code envoy.transport_sockets.upstream_proxy_protocol}
 * of the rule's version. Stateless.
 */
final class UpstreamProxyProtocol {
  static final String NAME = "envoy.transport_sockets.upstream_proxy_protocol";

  private UpstreamProxyProtocol() {}

  /** {@code c} with its transport socket wrapped when {@code dr} (the cluster's merged policy) sets a version. */
  static Cluster wrap(Cluster c, Policy.DestinationRule dr) {
    if (dr == null || dr.proxyProtocol() == 0) {
      return c;
    }
    TransportSocket inner = c.hasTransportSocket() ? c.getTransportSocket() : TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.raw_buffer").setTypedConfig(Any.pack(RawBuffer.getDefaultInstance())).build();
    Cluster.Builder b = c.toBuilder().setTransportSocket(wrapped(inner, dr.proxyProtocol()));
    for (Cluster.TransportSocketMatch.Builder m : b.getTransportSocketMatchesBuilderList()) { // istiod wraps each too
      m.setTransportSocket(wrapped(m.getTransportSocket(), dr.proxyProtocol()));
    }
    return b.build();
  }

  private static TransportSocket wrapped(TransportSocket inner, int version) {
    ProxyProtocolUpstreamTransport wrapped = ProxyProtocolUpstreamTransport.newBuilder()
        .setConfig(ProxyProtocolConfig.newBuilder().setVersion(version == 2
            ? ProxyProtocolConfig.Version.V2 : ProxyProtocolConfig.Version.V1))
        .setTransportSocket(inner).build();
    return TransportSocket.newBuilder().setName(NAME).setTypedConfig(Any.pack(wrapped)).build();
  }
}
