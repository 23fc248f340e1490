package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol;
import java.util.List;

/**
 * Istio's meshConfig {@code defaultConfig.gatewayTopology.proxyProtocol: {}}: every listener of an ingress gateway
 * reads a PROXY protocol header first ({@code envoy.filters.listener.proxy_protocol}, ahead of any other listener
 * filter), as istiod configures a gateway behind an L4 balancer that sends one; connections without a header are
 * closed, as in Istio. Stateless.
 */
public final class GatewayProxyProtocol {
  static final String FILTER = "envoy.filters.listener.proxy_protocol";

  private GatewayProxyProtocol() {}

  /**
   * {@code gateway}'s resources with the listener filter first on each of its TCP listeners (not the HTTP/3 ones over
   * UDP, as istiod: QUIC has no PROXY header).
   */
  public static MeshResources apply(MeshResources gateway) {
    ListenerFilter filter = ListenerFilter.newBuilder().setName(FILTER)
        .setTypedConfig(Any.pack(ProxyProtocol.getDefaultInstance())).build();
    List<Listener> listeners = gateway.listeners().stream()
        .map(l -> l.hasUdpListenerConfig() ? l : l.toBuilder().clearListenerFilters().addListenerFilters(filter)
            .addAllListenerFilters(l.getListenerFiltersList()).build())
        .toList();
    return gateway.withListeners(listeners);
  }
}
