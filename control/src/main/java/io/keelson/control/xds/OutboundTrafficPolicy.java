package io.keelson.control.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;

/**
 * Istio's {@code meshConfig.outboundTrafficPolicy.mode} for captured sidecars: {@link #ALLOW_ANY} (the default) lets
 * traffic to hosts and ports neither the registry nor a ServiceEntry has go where the app sent it
 * ({@value CapturedListeners#PASSTHROUGH}); {@link #REGISTRY_ONLY} sends it to {@value #BLACK_HOLE} (connections closed)
 * and answers HTTP to an unknown Host with 502 from virtual host {@value #BLOCK_ALL}, istiod's shapes. A sidecar without
 * capture cannot pass traffic through (it never sees the original destination): under ALLOW_ANY an unknown Host gets
 * 404 (no virtual host), under REGISTRY_ONLY 502 from {@value #BLOCK_ALL} in route configuration outbound.
 * Stateless.
 */
public enum OutboundTrafficPolicy {
  ALLOW_ANY, REGISTRY_ONLY;

  /** istiod's cluster for blocked traffic: STATIC without endpoints. */
  public static final String BLACK_HOLE = "BlackHoleCluster";
  /** istiod's catch-all virtual host under REGISTRY_ONLY (502). */
  public static final String BLOCK_ALL = "block_all";

  /** The mode named {@code s} (Istio's spelling), or an error naming the accepted values. */
  public static OutboundTrafficPolicy parse(String s) {
    for (OutboundTrafficPolicy p : values()) {
      if (p.name().equals(s)) {
        return p;
      }
    }
    throw new IllegalArgumentException("'" + s + "' is not an outbound traffic policy; expected ALLOW_ANY or REGISTRY_ONLY");
  }

  /** {@code l} with its passthrough chains sent to {@value #BLACK_HOLE} instead, under REGISTRY_ONLY. */
  Listener apply(Listener l) {
    if (this == ALLOW_ANY) {
      return l;
    }
    Listener.Builder b = l.toBuilder();
    for (int i = 0; i < b.getFilterChainsCount(); i++) {
      FilterChain c = b.getFilterChains(i);
      if (c.getName().equals(CapturedListeners.PASSTHROUGH_CHAIN)) {
        b.setFilterChains(i, c.toBuilder().clearFilters()
            .addAllFilters(MeshMtls.tcpTo(BLACK_HOLE, BLACK_HOLE, List.of())));
      }
    }
    return b.build();
  }

  /** {@code rc} with its {@value CapturedListeners#ALLOW_ANY} virtual host replaced by {@value #BLOCK_ALL}, under REGISTRY_ONLY. */
  RouteConfiguration apply(RouteConfiguration rc) {
    if (this == ALLOW_ANY) {
      return rc;
    }
    RouteConfiguration.Builder b = rc.toBuilder();
    for (int i = 0; i < b.getVirtualHostsCount(); i++) {
      if (b.getVirtualHosts(i).getName().equals(CapturedListeners.ALLOW_ANY)) {
        b.setVirtualHosts(i, blockAll());
      }
    }
    return b.build();
  }

  /** istiod's {@value #BLOCK_ALL}: every request 502. */
  static VirtualHost blockAll() {
    return VirtualHost.newBuilder().setName(BLOCK_ALL).addDomains("*")
        .addRoutes(Route.newBuilder().setName(BLOCK_ALL).setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setDirectResponse(DirectResponseAction.newBuilder().setStatus(502))).build();
  }

  /** {@value #BLACK_HOLE}: STATIC, no endpoints (every connection to it fails at once). */
  static Cluster blackHole() {
    return Cluster.newBuilder().setName(BLACK_HOLE).setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10)).build();
  }
}
