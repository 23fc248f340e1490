package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.List;
import java.util.Map;

/**
 * istiod's shape for a service port with no declared protocol ({@link Policy.Protocol#AUTO}) on a captured sidecar:
 * the listener gets {@code envoy.filters.listener.http_inspector}, and each HTTP chain a twin: the HTTP chain matches
 * {@code application_protocols} {@link #HTTP_PROTOCOLS}, a tcp_proxy chain with the same destination match takes
 * everything else. Outbound ({@code 0.0.0.0_<port>}): per AUTO service with a VIP, an HTTP chain and a tcp_proxy chain
 * to its cluster matching the VIP; for any other address the port's HTTP chain (Host routing) and the passthrough.
 * Inbound (virtualInbound): the app port's plaintext HTTP chain and a tcp_proxy chain to the app. How long the sidecar
 * waits for a client's first bytes is Istio's meshConfig {@code protocolDetectionTimeout}
 * ({@code bin/keelson control --protocol-detection-timeout}), sent as {@code listener_filters_timeout} with
 * {@code continue_on_listener_filters_timeout}: by default 0s, waiting for ever, as Istio, so a client that pauses
 * before its request still gets the HTTP chain (its filters, VirtualService routing and retries) and a server-first
 * protocol (MySQL, SMTP: the client sends nothing) must be declared ({@code TCP}); a positive timeout relays a silent
 * client as TCP once it passes. Stateless.
 */
final class DetectedProtocolListeners {
  /** What the http_inspector reports for HTTP, as istiod's chains list them (the data plane's names). */
  static final List<String> HTTP_PROTOCOLS = io.keelson.dataplane.config.ProtocolChains.HTTP_PROTOCOLS;
  /** Istio's default protocolDetectionTimeout: none, wait for the client's bytes. */
  static final java.time.Duration DEFAULT_DETECTION_TIMEOUT = java.time.Duration.ZERO;
  static final String HTTP_INSPECTOR = "envoy.filters.listener.http_inspector";

  private DetectedProtocolListeners() {}

  /** Whether some service on {@code port} among {@code services} declares no protocol. */
  static boolean anyAuto(List<Policy.Service> services, int port) {
    return services.stream().anyMatch(s -> s.ports().contains(port) && s.protocol(port) == Policy.Protocol.AUTO);
  }

  /**
   * {@code portListener} (an HTTP port listener, maybe with VIP chains of TCP services first) for a port some of
   * whose HTTP services ({@code auto}) declare no protocol: detection, per AUTO service with a VIP an HTTP and a TCP
   * chain on its VIP, then the port's HTTP chain for HTTP and the passthrough for the rest.
   */
  static Listener outbound(Listener portListener, PolicySet state, ClusterNames names, int port,
      List<Policy.Service> auto, Map<String, String> vips, java.time.Duration timeout) {
    FilterChain http = portListener.getFilterChains(portListener.getFilterChainsCount() - 1); // the Host-routing chain
    Listener.Builder l = detecting(portListener.toBuilder().clearFilterChains(), timeout);
    for (int i = 0; i < portListener.getFilterChainsCount() - 1; i++) {
      l.addFilterChains(portListener.getFilterChains(i)); // TCP services' VIP chains
    }
    for (Policy.Service svc : auto) {
      String vip = vips.get(svc.name());
      if (vip == null) {
        continue;
      }
      FilterChainMatch.Builder onVip = FilterChainMatch.newBuilder()
          .addPrefixRanges(io.envoyproxy.envoy.config.core.v3.CidrRange.newBuilder().setAddressPrefix(vip)
              .setPrefixLen(com.google.protobuf.UInt32Value.of(32)));
      String prefix = ClusterNames.serviceEntryCluster(port, null, svc.name());
      l.addFilterChains(http.toBuilder().setName(prefix + "|http")
          .setFilterChainMatch(onVip.clone().addAllApplicationProtocols(HTTP_PROTOCOLS)));
      l.addFilterChains(FilterChain.newBuilder().setName(prefix)
          .setFilterChainMatch(onVip)
          .addFilters(StreamListeners.tcpProxy(state, prefix, List.of(), svc.name(), names)));
    }
    l.addFilterChains(http.toBuilder()
        .setFilterChainMatch(http.getFilterChainMatch().toBuilder().addAllApplicationProtocols(HTTP_PROTOCOLS)));
    l.addFilterChains(CapturedListeners.passthroughChain());
    return l.build();
  }

  /**
   * {@code virtualInbound} for an AUTO app port whose chains are plaintext only (mTLS DISABLE: a sidecar without an
   * identity): the app port's HTTP chain (named {@code cluster}) matching HTTP, then a tcp_proxy chain to
   * {@code cluster} (the app) with the same destination port; the other chains as they are. With mTLS the app's chains
   * terminate TLS and stay HTTP (chains selected by ALPN inside mesh mTLS are not built yet).
   */
  static Listener inbound(Listener virtualInbound, String cluster, java.time.Duration timeout) {
    Listener.Builder l = detecting(virtualInbound.toBuilder().clearFilterChains(), timeout);
    for (FilterChain c : virtualInbound.getFilterChainsList()) {
      if (!c.getName().equals(cluster) || c.hasTransportSocket()) {
        l.addFilterChains(c);
        continue;
      }
      l.addFilterChains(c.toBuilder()
          .setFilterChainMatch(c.getFilterChainMatch().toBuilder().addAllApplicationProtocols(HTTP_PROTOCOLS)));
      l.addFilterChains(FilterChain.newBuilder().setName(cluster + "|tcp").setFilterChainMatch(c.getFilterChainMatch())
          .addAllFilters(MeshMtls.tcpTo(cluster, cluster, List.of())));
    }
    return l.build();
  }

  /**
   * {@code l} with the http_inspector and the mesh's detection timeout (always set: an unset listener_filters_timeout
   * is Envoy's 15 s), continuing as TCP when it passes; 0s is no timeout.
   */
  static Listener.Builder detecting(Listener.Builder l, java.time.Duration timeout) {
    return l.addListenerFilters(ListenerFilter.newBuilder().setName(HTTP_INSPECTOR)
            .setTypedConfig(Any.pack(HttpInspector.getDefaultInstance())))
        .setListenerFiltersTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(timeout.getSeconds())
            .setNanos(timeout.getNano()))
        .setContinueOnListenerFiltersTimeout(true);
  }

  /** {@code timeout} if it is a protocol detection timeout (zero or positive); else an error naming the setting. */
  static java.time.Duration checkTimeout(java.time.Duration timeout) {
    if (timeout == null || timeout.isNegative()) {
      throw new IllegalArgumentException("protocolDetectionTimeout " + timeout
          + " is negative; expected 0 (no timeout: wait for the client's first bytes) or more");
    }
    return timeout;
  }
}
