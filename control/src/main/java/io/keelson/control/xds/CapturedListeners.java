package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.BindConfig;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.keelson.control.policy.Authz;
import java.util.ArrayList;
import java.util.List;

/**
 * The listeners and clusters of a sidecar whose traffic iptables captures ({@code bin/keelson iptables}),
 * in istiod's shape:
 * <ul>
 *   <li>{@value #VIRTUAL_OUTBOUND} on {@code 0.0.0.0:outbound port}; for a dual-stack sidecar (registered
 *       {@code keelson.io/ipv6}) on {@code [::]} with {@code ipv4_compat} (one socket, as istiod's {@code ::} wildcard
 *       for proxies with IPv6 addresses: IPv4 and IPv6 connections alike; a host without IPv6 cannot bind it),
 *       {@code use_original_dst}: a connection is handed to
 *       the listener of its original destination port ({@code 0.0.0.0_<port>}, {@code bind_to_port: false}, HTTP,
 *       RDS {@code <port>}: the services with that port, then {@value #ALLOW_ANY} to {@value #PASSTHROUGH}),
 *       else served by its own {@value #PASSTHROUGH_CHAIN} (tcp_proxy to {@value #PASSTHROUGH});
 *   <li>{@value #VIRTUAL_INBOUND} on {@code 0.0.0.0:inbound port} (dual-stack: {@code [::]} too): per app port a chain matching
 *       {@code destination_port} that runs what today's inbound listener runs (mTLS mode, JWT, RBAC, XFCC) to
 *       {@code inbound|<port>}, and a passthrough chain ({@value #INBOUND_PASSTHROUGH}) for the rest. Both connect to
 *       the connection's original destination, the pod address, from {@value #INBOUND_PASSTHROUGH_SOURCE} (Istio 1.10+:
 *       an app listening on the pod address or 0.0.0.0 is served, one on 127.0.0.1 only is not); both reach an IPv6
 *       destination from ::6 ({@code extra_source_addresses}, as istiod for dual-stack pods: a socket bound to
 *       127.0.0.6 cannot reach an IPv6 address).
 * </ul>
 * Stateless.
 */
public final class CapturedListeners {
  public static final String VIRTUAL_OUTBOUND = "virtualOutbound";
  public static final String VIRTUAL_INBOUND = "virtualInbound";
  public static final String PASSTHROUGH = "PassthroughCluster";
  public static final String INBOUND_PASSTHROUGH = "InboundPassthroughCluster";
  public static final String PASSTHROUGH_CHAIN = "PassthroughFilterChain";
  public static final String INBOUND_PASSTHROUGH_CHAIN = "InboundPassthroughFilterChain";
  /** Istio's ALLOW_ANY outbound traffic policy: a Host no service claims goes to where the app sent it. */
  public static final String ALLOW_ANY = "allow_any";
  /**
   * The source address of inbound passthrough connections (istio-iptables' 127.0.0.6): its rule
   * {@code -s 127.0.0.6 -o lo RETURN} keeps the proxy's own connection to this pod's address from
   * being captured again as inbound.
   */
  public static final String INBOUND_PASSTHROUGH_SOURCE = "127.0.0.6";
  /** istio-iptables' IPv6 form (its {@code -s ::6/128 -o lo RETURN}; {@code bin/keelson iptables --ipv6} puts it on lo). */
  public static final String INBOUND_PASSTHROUGH_SOURCE_IPV6 = "::6";
  /** Where the captured listeners bind: every address of both families on one socket ({@code ipv4_compat}). */
  static final String DUAL_STACK_WILDCARD = "::";
  static final String ORIGINAL_DST_FILTER = "envoy.filters.listener.original_dst";

  private CapturedListeners() {}

  /** The listener of service port {@code port}'s outbound HTTP traffic, handed connections by virtualOutbound. */
  static String portListenerName(int port) {
    return "0.0.0.0_" + port;
  }

  /** The inbound cluster of app port {@code port} (the pod address, port {@code port}). */
  public static String appCluster(int port) {
    return "inbound|" + port;
  }

  /** virtualOutbound on {@code port}: IPv4 ({@code 0.0.0.0}); {@link #dualStack(Listener)} makes it dual-stack. */
  static Listener virtualOutbound(int port) {
    return Listener.newBuilder()
        .setName(VIRTUAL_OUTBOUND)
        .setAddress(MeshTranslator.address("0.0.0.0", port))
        .setUseOriginalDst(BoolValue.of(true))
        .addListenerFilters(originalDst())
        .addFilterChains(passthroughChain())
        .build();
  }

  /**
   * {@value #PASSTHROUGH_CHAIN}: tcp_proxy to {@value #PASSTHROUGH} (ALLOW_ANY), the last chain of virtualOutbound and
   * of every TCP-by-address and TLS port listener; {@link OutboundTrafficPolicy} finds it by name under REGISTRY_ONLY.
   */
  static FilterChain passthroughChain() {
    return FilterChain.newBuilder().setName(PASSTHROUGH_CHAIN)
        .addAllFilters(MeshMtls.tcpTo(PASSTHROUGH, PASSTHROUGH, List.of())).build();
  }

  /** {@code 0.0.0.0_<port>}: not bound; HTTP with {@code filters} (today's outbound ones) and RDS {@code <port>}. */
  static Listener portListener(int port, List<HttpFilter> filters) {
    HttpConnectionManager hcm = MeshConnectionManagers.newBuilder()
        .setStatPrefix("outbound_0.0.0.0_" + port)
        .setRds(Rds.newBuilder().setConfigSource(MeshTranslator.ADS).setRouteConfigName(String.valueOf(port)))
        .addAllHttpFilters(filters)
        .build();
    return Listener.newBuilder()
        .setName(portListenerName(port))
        .setAddress(MeshTranslator.address("0.0.0.0", port))
        .setBindToPort(BoolValue.of(false))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
        .build();
  }

  /** Route configuration {@code <port>}: {@code services}' virtual hosts, then {@value #ALLOW_ANY}. */
  static RouteConfiguration portRoutes(int port, List<VirtualHost> services) {
    return RouteConfiguration.newBuilder()
        .setName(String.valueOf(port))
        .addAllVirtualHosts(services)
        .addVirtualHosts(VirtualHost.newBuilder().setName(ALLOW_ANY).addDomains("*")
            .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster(PASSTHROUGH))))
        .build();
  }

  /** Connections to where the app sent them (SO_ORIGINAL_DST). */
  static Cluster passthrough() {
    return originalDstCluster(PASSTHROUGH).build();
  }

  /**
   * {@code listener} on {@code [::]} with {@code ipv4_compat} at its port: one socket taking IPv4 and IPv6
   * connections (a dual-stack sidecar's virtualOutbound and virtualInbound).
   */
  static Listener dualStack(Listener listener) {
    io.envoyproxy.envoy.config.core.v3.Address a = MeshTranslator.address(DUAL_STACK_WILDCARD,
        listener.getAddress().getSocketAddress().getPortValue());
    return listener.toBuilder().setAddress(a.toBuilder().setSocketAddress(a.getSocketAddress().toBuilder()
        .setIpv4Compat(true))).build();
  }

  /**
   * Inbound connections to ports with no chain of their own, to their original destination, from 127.0.0.6 (from ::6
   * to an IPv6 one: one cluster for both families, as istiod's dual-stack {@code InboundPassthroughCluster}).
   */
  static Cluster inboundPassthrough() {
    return fromInboundSource(originalDstCluster(INBOUND_PASSTHROUGH)).build();
  }

  /**
   * {@code c} connecting from {@value #INBOUND_PASSTHROUGH_SOURCE}, as istiod's inbound clusters: its connection to the
   * pod's own address leaves through iptables' {@code -s 127.0.0.6 -o lo RETURN}, not captured as inbound again; to an
   * IPv6 pod address from {@value #INBOUND_PASSTHROUGH_SOURCE_IPV6} ({@code extra_source_addresses}, as istiod for
   * dual-stack pods: ip6tables' {@code -s ::6/128 -o lo RETURN}).
   */
  private static Cluster.Builder fromInboundSource(Cluster.Builder c) {
    fromSource(c, INBOUND_PASSTHROUGH_SOURCE);
    c.getUpstreamBindConfigBuilder().addExtraSourceAddresses(io.envoyproxy.envoy.config.core.v3.ExtraSourceAddress
        .newBuilder().setAddress(sourceAddress(INBOUND_PASSTHROUGH_SOURCE_IPV6)));
    return c;
  }

  private static Cluster.Builder fromSource(Cluster.Builder c, String source) {
    return c.setUpstreamBindConfig(BindConfig.newBuilder().setSourceAddress(sourceAddress(source)));
  }

  private static io.envoyproxy.envoy.config.core.v3.SocketAddress sourceAddress(String address) {
    return io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder().setAddress(address).setPortValue(0).build();
  }

  private static Cluster.Builder originalDstCluster(String name) {
    Cluster.Builder c = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1));
    ClusterDefaults.apply(c); // as istiod's passthrough clusters
    return c;
  }

  /**
   * {@code inbound|<port>} (the captured bootstrap's name), as istiod 1.10+ sends it: {@code ORIGINAL_DST} (the
   * connection's original destination, the pod address and {@code port}), {@code cleanup_interval} 60 s, from
   * {@value #INBOUND_PASSTHROUGH_SOURCE} (from {@value #INBOUND_PASSTHROUGH_SOURCE_IPV6} to the pod's IPv6 address). An
   * app listening only on 127.0.0.1 is not reached, as in Istio.
   */
  static Cluster appClusterResource(int port) {
    Cluster.Builder c = fromInboundSource(originalDstCluster(appCluster(port)))
        .setCleanupInterval(com.google.protobuf.Duration.newBuilder().setSeconds(60));
    return c.build();
  }

  /**
   * {@code inbound|<port>} as a Sidecar's {@code ingress[].defaultEndpoint} for the app port says (istiod's STATIC
   * inbound cluster): {@code 127.0.0.1:P} the app on loopback (no source address: iptables leaves 127.0.0.1 alone),
   * {@code 0.0.0.0:P} the app on {@code podAddress}:P from {@value #INBOUND_PASSTHROUGH_SOURCE}; null: the default
   * ({@link #appClusterResource(int)}).
   */
  static Cluster appClusterResource(int port, String podAddress, io.keelson.control.policy.Policy.SidecarIngress ingress) {
    if (ingress == null) {
      return appClusterResource(port);
    }
    return ingress.loopback() ? localAppCluster(appCluster(port), ingress.endpointPort())
        : fromInboundSource(staticCluster(appCluster(port), podAddress, ingress.endpointPort()).toBuilder()).build();
  }

  /** Cluster {@code name}: the app on 127.0.0.1:{@code port} (static), a plain sidecar's app cluster. */
  static Cluster localAppCluster(String name, int port) {
    return staticCluster(name, "127.0.0.1", port);
  }

  private static Cluster staticCluster(String name, String host, int port) {
    Cluster.Builder c = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name)
            .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                .setEndpoint(Endpoint.newBuilder().setAddress(MeshTranslator.address(host, port))))));
    ClusterDefaults.apply(c); // as istiod's inbound clusters
    return c.build();
  }

  /**
   * virtualInbound on {@code inboundPort}: for {@code appPort}, the chains {@code mode} makes of
   * {@code appFilters} (today's inbound listener's), each matching that destination port; for any other port
   * the same mode's chains of {@code passthroughFilters} (network RBAC, then tcp_proxy to
   * {@value #INBOUND_PASSTHROUGH}); {@code ipv6} (a dual-stack sidecar): on {@code [::]} with {@code ipv4_compat}
   * (IPv6 destinations reach the same clusters, which connect to them from ::6).
   */
  static Listener virtualInbound(int inboundPort, int appPort, Authz.MtlsMode mode, List<Filter> appFilters,
      List<Filter> passthroughRbac, boolean ipv6) {
    Listener.Builder l = Listener.newBuilder()
        .setName(VIRTUAL_INBOUND)
        .setAddress(MeshTranslator.address("0.0.0.0", inboundPort))
        .addListenerFilters(originalDst());
    if (MeshMtls.inspectsTls(mode)) {
      l.addListenerFilters(MeshMtls.tlsInspector());
    }
    for (FilterChain c : MeshMtls.chains(mode, appFilters)) {
      FilterChainMatch.Builder match = c.getFilterChainMatch().toBuilder().setDestinationPort(UInt32Value.of(appPort));
      l.addFilterChains(c.toBuilder().setName(appCluster(appPort)).setFilterChainMatch(match));
    }
    List<Filter> passthrough = MeshMtls.tcpTo(INBOUND_PASSTHROUGH, INBOUND_PASSTHROUGH, passthroughRbac);
    for (FilterChain c : MeshMtls.chains(mode, passthrough)) {
      l.addFilterChains(c.toBuilder().setName(INBOUND_PASSTHROUGH_CHAIN));
    }
    return ipv6 ? dualStack(l.build()) : l.build();
  }

  private static ListenerFilter originalDst() {
    return ListenerFilter.newBuilder().setName(ORIGINAL_DST_FILTER)
        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())).build();
  }

  /** The ports of {@code services}, ascending, each once. */
  static List<Integer> servicePorts(List<io.keelson.control.policy.Policy.Service> services) {
    java.util.TreeSet<Integer> ports = new java.util.TreeSet<>();
    services.forEach(s -> ports.addAll(s.ports()));
    return new ArrayList<>(ports);
  }
}
