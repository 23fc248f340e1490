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
 * Inbound (virtualInbound): the app port's plaintext HTTP chain and a tcp_proxy chain to the app; with an identity,
 * mTLS chains selected by the ALPN the client sidecar offers ({@link #inboundWithIdentity}). How long the sidecar
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
              .setPrefixLen(com.google.protobuf.UInt32Value.of(vip.contains(":") ? 128 : 32)));
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
   * {@code detecting} (from {@link #outbound}) for a port only ServiceEntry host {@code host} has, with no declared
   * protocol: what is not HTTP goes to the host's cluster (as on its TCP port) instead of where the app sent it.
   */
  static Listener withEntryTcp(Listener detecting, PolicySet state, ClusterNames names, int port, String host) {
    Listener.Builder l = detecting.toBuilder().clearFilterChains();
    for (FilterChain c : detecting.getFilterChainsList()) {
      if (c.getName().equals(CapturedListeners.PASSTHROUGH_CHAIN)) {
        String prefix = ClusterNames.serviceEntryCluster(port, null, host);
        l.addFilterChains(FilterChain.newBuilder().setName(prefix)
            .addFilters(StreamListeners.tcpProxy(state, prefix, List.of(), host, names)));
      } else {
        l.addFilterChains(c);
      }
    }
    return l.build();
  }

  /**
   * {@code virtualInbound} for an AUTO app port whose chains are plaintext only (mTLS DISABLE: a sidecar without an
   * identity): the app port's HTTP chain (named {@code cluster}) matching HTTP, then a tcp_proxy chain to
   * {@code cluster} (the app) with the same destination port; the other chains as they are. A sidecar with an
   * identity gets {@link #inboundWithIdentity} instead.
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
   * {@code virtualInbound} for an AUTO app port of a sidecar with an identity, in istiod's shape
   * ({@code filterchain_options.go}): the app port's chains replaced by, under STRICT, an mTLS HTTP chain (named
   * {@code cluster}) matching {@code transport_protocol: tls} and the ALPN {@link MeshMtls#ALPN_ISTIO_HTTP} (what a
   * client sidecar offers for HTTP) and an mTLS TCP chain ({@code cluster|tcp}) for the rest over mTLS; under
   * PERMISSIVE also a plaintext HTTP chain ({@code raw_buffer} and what the http_inspector detects,
   * {@code cluster|plaintext}) and a plaintext TCP chain ({@code cluster|plaintext|tcp}); under DISABLE only the
   * plaintext pair. The HTTP chains run {@code httpFilters} (JWT, CUSTOM, RBAC, XFCC), the TCP chains
   * {@code tcpFilters} (network CUSTOM and RBAC, then tcp_proxy to the app), as on a declared port of each protocol.
   * The listener gets the TLS inspector (it reads the ClientHello's ALPN) and the http_inspector.
   */
  static Listener inboundWithIdentity(Listener virtualInbound, String cluster, io.keelson.control.policy.Authz.MtlsMode mode,
      List<io.envoyproxy.envoy.config.listener.v3.Filter> httpFilters,
      List<io.envoyproxy.envoy.config.listener.v3.Filter> tcpFilters, java.time.Duration timeout) {
    boolean mtls = mode != io.keelson.control.policy.Authz.MtlsMode.DISABLE;
    boolean plaintext = mode != io.keelson.control.policy.Authz.MtlsMode.STRICT;
    Listener.Builder l = virtualInbound.toBuilder().clearFilterChains();
    if (mtls && l.getListenerFiltersList().stream().noneMatch(f -> f.getName().equals(MeshMtls.tlsInspector().getName()))) {
      l.addListenerFilters(MeshMtls.tlsInspector());
    }
    detecting(l, timeout);
    String raw = mtls ? "raw_buffer" : ""; // what the TLS inspector reports for plaintext; no inspector, none
    boolean replaced = false;
    for (FilterChain c : virtualInbound.getFilterChainsList()) {
      if (!c.getName().equals(cluster)) {
        l.addFilterChains(c);
        continue;
      }
      if (replaced) {
        continue; // PERMISSIVE's second (plaintext) chain of the app port: replaced with the first
      }
      replaced = true;
      FilterChainMatch port = FilterChainMatch.newBuilder().setDestinationPort(c.getFilterChainMatch().getDestinationPort())
          .build();
      if (mtls) {
        l.addFilterChains(FilterChain.newBuilder().setName(cluster)
            .setFilterChainMatch(port.toBuilder().setTransportProtocol("tls").addAllApplicationProtocols(MeshMtls.ALPN_ISTIO_HTTP))
            .setTransportSocket(MeshMtls.downstream(true)).addAllFilters(httpFilters));
        l.addFilterChains(FilterChain.newBuilder().setName(cluster + "|tcp")
            .setFilterChainMatch(port.toBuilder().setTransportProtocol("tls"))
            .setTransportSocket(MeshMtls.downstream(false)).addAllFilters(tcpFilters));
      }
      if (plaintext) {
        l.addFilterChains(FilterChain.newBuilder().setName(cluster + (mtls ? "|plaintext" : ""))
            .setFilterChainMatch(port.toBuilder().setTransportProtocol(raw).addAllApplicationProtocols(HTTP_PROTOCOLS))
            .addAllFilters(httpFilters));
        l.addFilterChains(FilterChain.newBuilder().setName(cluster + (mtls ? "|plaintext|tcp" : "|tcp"))
            .setFilterChainMatch(port.toBuilder().setTransportProtocol(raw)).addAllFilters(tcpFilters));
      }
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
