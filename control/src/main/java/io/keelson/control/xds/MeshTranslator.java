package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Policies and registry to Envoy v3 resources. Every proxy of the mesh gets the same outbound view:
 * <ul>
 *   <li>listener {@value #OUTBOUND} (HTTP on the outbound port) using route configuration {@value #OUTBOUND}, one
 *       virtual host per service whose domains are the service's name and {@code name:port};
 *   <li>a cluster per service ({@code product-service}) and per subset ({@code product-service|v1}), EDS; HTTP/2
 *       upstream for a service with an HTTP2 or GRPC port, else HTTP/1.1 ({@link UpstreamProtocols});
 *   <li>a ClusterLoadAssignment per cluster: the service's workloads (a subset's: those whose labels match);
 *   <li>per service, an API listener named after it (for proxyless gRPC clients, {@code xds:///product-service})
 *       whose HttpConnectionManager points at route configuration {@value #OUTBOUND};
 *   <li>ServiceEntry hosts' clusters (EDS for resolution STATIC, with their ClusterLoadAssignments), virtual hosts and
 *       captured port listeners ({@link ServiceEntryTranslator}), and
 *       the outbound traffic policy's shapes ({@link OutboundTrafficPolicy}).
 * </ul>
 * Thread-safe; keeps only the previous translation's endpoint lists, to reuse the unchanged ones
 * ({@link AssignmentCache}).
 */
public final class MeshTranslator {
  public static final String OUTBOUND = "outbound";
  /** Istio's default trust domain, for a translator not told the mesh CA's. */
  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";
  static final ConfigSource ADS = ConfigSource.newBuilder()
      .setAds(AggregatedConfigSource.getDefaultInstance()).setResourceApiVersion(ApiVersion.V3).build();

  private final int outboundPort;
  private final boolean apiListeners;
  private final boolean captured;
  private final OutboundTrafficPolicy outboundPolicy;
  private final java.time.Duration protocolDetectionTimeout;
  private final String trustDomain;
  private final DistinctDomains domains; // its route configs' domain clashes, warned about once while they last
  // Unchanged clusters keep their ClusterLoadAssignment instance from one translation to the next.
  private final AssignmentCache assignments = new AssignmentCache();
  private long translations;

  /**
   * @param outboundPort port of the outbound listener (a sidecar's {@code --outbound-port})
   * @param apiListeners also emit per-service API listeners for proxyless gRPC clients
   */
  public MeshTranslator(int outboundPort, boolean apiListeners) {
    this(outboundPort, apiListeners, false);
  }

  /**
   * @param captured for sidecars whose traffic iptables captures: {@link CapturedListeners}' virtualOutbound
   *                 on the outbound port and a listener and route configuration per service port instead of
   *                 listener {@value #OUTBOUND}, plus the passthrough clusters
   */
  public MeshTranslator(int outboundPort, boolean apiListeners, boolean captured) {
    this(outboundPort, apiListeners, captured, OutboundTrafficPolicy.ALLOW_ANY);
  }

  /** @param outboundPolicy what a captured sidecar does with traffic to hosts and ports the mesh does not know */
  public MeshTranslator(int outboundPort, boolean apiListeners, boolean captured, OutboundTrafficPolicy outboundPolicy) {
    this(outboundPort, apiListeners, captured, outboundPolicy, java.time.Duration.ZERO);
  }

  /**
   * @param protocolDetectionTimeout Istio's meshConfig.protocolDetectionTimeout: how long a captured sidecar waits for
   *                                 the first bytes of a connection to a port with no declared protocol before it
   *                                 relays it as TCP; zero (the default) waits for ever
   */
  public MeshTranslator(int outboundPort, boolean apiListeners, boolean captured, OutboundTrafficPolicy outboundPolicy,
      java.time.Duration protocolDetectionTimeout) {
    this(outboundPort, apiListeners, captured, outboundPolicy, protocolDetectionTimeout, DEFAULT_TRUST_DOMAIN);
  }

  /**
   * @param trustDomain the mesh CA's trust domain: the SPIFFE IDs a caller with an identity expects of ServiceEntry
   *                    endpoints' service accounts ({@link EntryMtls})
   */
  public MeshTranslator(int outboundPort, boolean apiListeners, boolean captured, OutboundTrafficPolicy outboundPolicy,
      java.time.Duration protocolDetectionTimeout, String trustDomain) {
    this(outboundPort, apiListeners, captured, outboundPolicy, protocolDetectionTimeout, trustDomain,
        new DistinctDomains());
  }

  /** @param domains the domain clash warnings' memory, shared by an xDS server's translators */
  MeshTranslator(int outboundPort, boolean apiListeners, boolean captured, OutboundTrafficPolicy outboundPolicy,
      java.time.Duration protocolDetectionTimeout, String trustDomain, DistinctDomains domains) {
    this.domains = java.util.Objects.requireNonNull(domains);
    this.trustDomain = java.util.Objects.requireNonNull(trustDomain);
    this.outboundPolicy = outboundPolicy;
    this.protocolDetectionTimeout = DetectedProtocolListeners.checkTimeout(protocolDetectionTimeout);
    if (captured && apiListeners) {
      throw new IllegalArgumentException("a captured sidecar is not a proxyless client");
    }
    this.outboundPort = outboundPort;
    this.apiListeners = apiListeners;
    this.captured = captured;
  }

  /** The resources for a proxy without an identity (no mTLS origination, no inbound listener of its own). */
  public MeshResources translate(PolicySet state, Collection<Policy.Workload> registered) {
    return translateShared(state, registered, Map.of(), false);
  }

  /**
   * A sidecar with a workload identity: its inbound listener per PeerAuthentication.
   *
   * @param spiffeId    its SPIFFE ID
   * @param inboundPort its inbound listener's port
   * @param appPort     its app's port (PeerAuthentication portLevelMtls keys), or -1 when unknown
   * @param labels      its workload's labels
   * @param tcp         its app speaks raw TCP: the inbound listener is a tcp_proxy behind network RBAC
   * @param capture     its capture registration (then it gets virtualInbound, and spiffeId may be null: a
   *                    captured sidecar without an identity), or null
   * @param service     its workload's service, or null: when the Service's port for its app port (or its only port)
   *                    is TCP or TLS, the app is served as with {@code tcp}
   */
  public record Self(String spiffeId, int inboundPort, int appPort, Map<String, String> labels, boolean tcp,
      NodeRegistration.Capture capture, String service) {
    public Self(String spiffeId, int inboundPort, int appPort, Map<String, String> labels, boolean tcp,
        NodeRegistration.Capture capture) {
      this(spiffeId, inboundPort, appPort, labels, tcp, capture, null);
    }

    public Self(String spiffeId, int inboundPort, int appPort, Map<String, String> labels, boolean tcp) {
      this(spiffeId, inboundPort, appPort, labels, tcp, null);
    }

    public Self(String spiffeId, int inboundPort, int appPort, Map<String, String> labels) {
      this(spiffeId, inboundPort, appPort, labels, false);
    }
  }

  /**
   * What every sidecar of this outbound port with an identity shares ({@code mtls}; without one: not
   * {@code mtls}): all but its inbound listener, which {@link #withInbound} adds. One translation per
   * change serves every such sidecar, so 1,000 of them share its (unchanged, already packed)
   * endpoint lists rather than each rebuilding and re-serializing them.
   */
  synchronized MeshResources translateShared(PolicySet state, Collection<Policy.Workload> registered,
      Map<String, Self> identities, boolean mtls) {
    translations++;
    List<Policy.Workload> workloads = new ArrayList<>(state.ofType(Policy.Workload.class));
    workloads.addAll(registered);
    // Each service's workloads in name order, grouped once (not filtered out of all of them per cluster).
    Map<String, List<Policy.Workload>> byService = new java.util.HashMap<>();
    for (Policy.Workload w : workloads) {
      byService.computeIfAbsent(w.service(), k -> new ArrayList<>()).add(w);
    }
    byService.values().forEach(l -> l.sort(java.util.Comparator.comparing(Policy::name)));
    assignments.begin();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    RouteConfiguration.Builder routes = RouteConfiguration.newBuilder().setName(OUTBOUND);
    List<Listener> listeners = new ArrayList<>();
    // ServiceEntry hosts (not for proxyless gRPC clients, which take no DNS or ORIGINAL_DST clusters).
    Map<String, Policy.ServiceEntry> entries = apiListeners ? Map.of()
        : io.keelson.control.store.ServiceEntries.byHost(state);
    listeners.add(captured ? CapturedListeners.virtualOutbound(outboundPort)
        : outboundListener(GrpcWebBuilder.anyOn(state.ofType(Policy.Service.class), -1)
            || GrpcWebBuilder.anyEntryOn(entries.values(), -1), PersistentSessions.anyOn(state.ofType(Policy.Service.class))));
    ClusterNames names = new ClusterNames(entries, 0);
    for (Policy.Service svc : state.ofType(Policy.Service.class)) {
      Policy.DestinationRule dr = destinationRule(state, svc.name());
      java.util.Set<String> ids = mtls ? identities(state, svc.name(), workloads, identities) : null;
      boolean h2 = UpstreamProtocols.http2(svc, dr);
      clusters.add(UpstreamProxyProtocol.wrap(mtls(cluster(svc.name(), ConsistentHashing.balancing(dr, null, 0), dr,
          h2, !apiListeners), ids, h2, dr, mtls), dr));
      List<Policy.Workload> members = byService.getOrDefault(svc.name(), List.of());
      endpoints.add(closed(dr, mtls) ? ClusterLoadAssignment.newBuilder().setClusterName(svc.name()).build()
          : assignments.assignment(svc.name(), members, apiListeners));
      if (dr != null) {
        for (Policy.Subset s : dr.subsets()) {
          String name = subsetCluster(svc.name(), s.name());
          // the subset's own policy over the rule's (load balancer, connection pool, outlier detection, tls)
          Policy.DestinationRule sub = dr.forCluster(s.name(), 0);
          boolean subH2 = UpstreamProtocols.http2(svc, sub);
          clusters.add(UpstreamProxyProtocol.wrap(mtls(cluster(name, ConsistentHashing.balancing(sub, null, 0), sub,
              subH2, !apiListeners), ids, subH2, sub, mtls), sub));
          endpoints.add(closed(sub, mtls) ? ClusterLoadAssignment.newBuilder().setClusterName(name).build()
              : assignments.assignment(name,
                  members.stream().filter(w -> matches(s.labels(), w.labels())).toList(), apiListeners));
        }
      }
      List<Integer> httpPorts = svc.ports().stream().filter(p -> svc.protocol(p).http()).toList();
      if (!httpPorts.isEmpty()) { // a TCP or TLS service is reachable only through a captured sidecar's port listener
        routes.addAllVirtualHosts(virtualHosts(state, svc, httpPorts, names));
      }
      if (apiListeners && !httpPorts.isEmpty()) {
        apiListenerNames(svc, httpPorts).forEach(name -> listeners.add(apiListener(svc.name(), name)));
      }
    }
    assignments.end();
    clusters.addAll(ServiceEntryTranslator.clusters(state, entries, endpoints, mtls ? trustDomain : null));
    routes.addAllVirtualHosts(ServiceEntryTranslator.outboundHosts(state, names));
    if (outboundPolicy == OutboundTrafficPolicy.REGISTRY_ONLY && !apiListeners) {
      routes.addVirtualHosts(OutboundTrafficPolicy.blockAll()); // 502 for a Host the mesh does not know, as istiod
    }
    List<RouteConfiguration> routeConfigs = new ArrayList<>(List.of(routes.build()));
    if (captured) {
      // Per service port: the listener virtualOutbound hands its connections to, and its routes.
      List<Policy.Service> services = state.ofType(Policy.Service.class);
      Map<String, String> vips = ServiceAddresses.of(services); // the DNS proxy's answers; TCP services told apart by them
      listeners.set(0, MeshNames.withTable(listeners.getFirst(), services, vips,
          ServiceEntryTranslator.virtualIps(entries)));
      java.util.TreeSet<Integer> ports = ServiceEntryTranslator.ports(entries);
      ports.addAll(CapturedListeners.servicePorts(services));
      for (int port : ports) {
        if (port == outboundPort) {
          continue; // virtualOutbound's own address: its connections are served by PassthroughFilterChain
        }
        List<Policy.Service> http = new ArrayList<>();
        List<Policy.Service> tls = new ArrayList<>();
        List<Policy.Service> tcp = new ArrayList<>();
        for (Policy.Service svc : services) {
          if (svc.ports().contains(port)) {
            switch (svc.protocol(port)) {
              case TCP -> tcp.add(svc); // References refuses a TCP port shared with TLS
              case TLS -> tls.add(svc);
              default -> http.add(svc);
            }
          }
        }
        ClusterNames at = names.forPort(port);
        Listener entryStreams = tcp.isEmpty() && tls.isEmpty() ? ServiceEntryTranslator.streamListener(state, names, port)
            : null;
        if (entryStreams != null) { // References keeps an entry's TCP or TLS port from being a registry Service's
          listeners.add(entryStreams);
        } else if (tcp.size() == 1 && http.isEmpty()) {
          listeners.add(StreamListeners.tcp(state, at, port, tcp.getFirst().name()));
        } else if (!tcp.isEmpty() && http.isEmpty()) {
          listeners.add(StreamListeners.tcpByAddress(state, at, port, tcp, vips));
        } else if (!tls.isEmpty()) {
          listeners.add(StreamListeners.tls(state, at, port, tls.stream().map(Policy::name).toList(),
              key -> MeshNames.names(state.service(key))));
        } else {
          // HTTP services (by Host), and TCP services sharing the port by VIP (References refuses TCP beside TLS).
          List<HttpFilter> portFilters = outboundHttpFilters(GrpcWebBuilder.anyOn(http, port)
              || GrpcWebBuilder.anyEntryOn(entries.values(), port), PersistentSessions.anyOn(http));
          Listener portListener = StreamListeners.withVipChains(CapturedListeners.portListener(port, portFilters),
              state, at, port, tcp, vips);
          List<String> autoHosts = ServiceEntryTranslator.autoHosts(names, port);
          if (DetectedProtocolListeners.anyAuto(http, port) || !autoHosts.isEmpty()) {
            // No declared protocol: HTTP detected, else TCP (a lone entry host's port: to its cluster).
            portListener = DetectedProtocolListeners.outbound(portListener, state, at, port,
                http.stream().filter(svc -> svc.protocol(port) == Policy.Protocol.AUTO).toList(), vips,
                protocolDetectionTimeout);
            if (http.isEmpty() && tcp.isEmpty() && autoHosts.size() == 1) {
              portListener = DetectedProtocolListeners.withEntryTcp(portListener, state, at, port, autoHosts.getFirst());
            }
          }
          listeners.add(portListener);
          List<VirtualHost> hosts = new ArrayList<>();
          for (Policy.Service svc : http) {
            hosts.add(MeshNames.withAddressDomains(virtualHost(state, svc, List.of(port), at, port), svc,
                vips.get(svc.name()), port));
          }
          hosts.addAll(ServiceEntryTranslator.portHosts(state, names, port));
          routeConfigs.add(CapturedListeners.portRoutes(port, hosts));
        }
      }
      clusters.add(CapturedListeners.passthrough());
      clusters.add(CapturedListeners.inboundPassthrough());
      if (outboundPolicy == OutboundTrafficPolicy.REGISTRY_ONLY) {
        // Every passthrough chain and allow_any virtual host of this translation, whichever builder made it.
        listeners.replaceAll(outboundPolicy::apply);
        routeConfigs.replaceAll(outboundPolicy::apply);
        clusters.add(OutboundTrafficPolicy.blackHole());
      }
    }
    // Routes to what this view left out (exportTo, a Sidecar's scope) answer 503, as Envoy's to an unknown cluster.
    return UndefinedClusters.defined(MeshResources.of(listeners, domains.of(routeConfigs), clusters, endpoints,
        assignments::digestOf), !apiListeners);
  }

  /**
   * {@code shared} (from {@link #translateShared} with mtls) plus {@code self}'s inbound listener, after the outbound
   * one (the other types are the same instances with the same versions), with the external authorization providers
   * CUSTOM AuthorizationPolicies name ({@code extAuthz}): their filters on the inbound HTTP chain and the used
   * provider's cluster.
   */
  static MeshResources withInbound(MeshResources shared, PolicySet state, Self self, ExtAuthzClusters extAuthz) {
    return withInbound(shared, state, self, extAuthz, java.time.Duration.ZERO);
  }

  /** As {@link #withInbound(MeshResources, PolicySet, Self, ExtAuthzClusters)}, with the mesh's detection timeout. */
  static MeshResources withInbound(MeshResources shared, PolicySet state, Self self, ExtAuthzClusters extAuthz,
      java.time.Duration protocolDetectionTimeout) {
    return withInbound(shared, state, self, extAuthz, protocolDetectionTimeout, null);
  }

  /**
   * As {@link #withInbound(MeshResources, PolicySet, Self, ExtAuthzClusters, java.time.Duration)}, for a sidecar that
   * Sidecar {@code scope} (or none) selects: a captured sidecar's app cluster follows the scope's {@code ingress[]}
   * entry for its app port ({@code defaultEndpoint}).
   */
  static MeshResources withInbound(MeshResources shared, PolicySet state, Self self, ExtAuthzClusters extAuthz,
      java.time.Duration protocolDetectionTimeout, Policy.Sidecar scope) {
    var custom = custom(state, self, extAuthz);
    MeshResources r;
    if (self.capture() != null) {
      Policy.SidecarIngress ingress = scope == null ? null : scope.ingressFor(self.capture().appPort());
      r = withVirtualInbound(shared, state, self, custom, extAuthz, protocolDetectionTimeout, ingress);
    } else {
      List<Listener> listeners = new ArrayList<>(shared.listeners().size() + 1);
      listeners.add(shared.listeners().getFirst());
      listeners.add(MeshMtls.listener(self.inboundPort(), inboundMode(state, self),
          appFilters(state, self, MeshMtls.APP_CLUSTER, custom)));
      listeners.addAll(shared.listeners().subList(1, shared.listeners().size()));
      MeshResources withListener = shared.withListeners(listeners);
      r = streams(state, self) ? withListener : withApp(withListener, state, self.service(), self.appPort());
    }
    if (custom.provider() == null) {
      return r;
    }
    List<Cluster> clusters = new ArrayList<>(r.clusters());
    clusters.add(extAuthz.clusters().get(custom.provider().name()));
    return r.withListenersAndClusters(r.listeners(), clusters);
  }

  /**
   * The CUSTOM policies' filters for {@code self}'s inbound app chain: HTTP filters, or network filters before the
   * tcp_proxy of a TCP app (none without an identity).
   */
  static io.keelson.control.security.ExtAuthzTranslator.Custom custom(PolicySet state, Self self,
      ExtAuthzClusters extAuthz) {
    if (self.spiffeId() == null) {
      return io.keelson.control.security.ExtAuthzTranslator.Custom.NONE;
    }
    String ns = io.keelson.dataplane.security.SpiffeId.parse(self.spiffeId()).namespace();
    if (streams(state, self)) {
      return io.keelson.control.security.ExtAuthzTranslator.tcp(ns, self.labels(),
          state.ofType(Policy.AuthorizationPolicy.class),
          io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, extAuthz.providers());
    }
    return io.keelson.control.security.ExtAuthzTranslator.http(ns, self.labels(),
        state.ofType(Policy.AuthorizationPolicy.class), io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE,
        extAuthz.providers());
  }

  /**
   * {@code shared} for a plain sidecar without an identity (it keeps its bootstrap's inbound listener) whose app,
   * on {@code appPort}, is {@code service}'s HTTP2 or GRPC port: plus its app cluster over HTTP/2, which replaces
   * the bootstrap's HTTP/1.1 one. Otherwise {@code shared} itself.
   */
  public static MeshResources withApp(MeshResources shared, PolicySet state, String service, int appPort) {
    if (appPort <= 0 || !UpstreamProtocols.appHttp2(state, service, appPort)) {
      return shared;
    }
    List<Cluster> clusters = new ArrayList<>(shared.clusters());
    clusters.add(UpstreamProtocols.http2App(appPort));
    return shared.withListenersAndClusters(shared.listeners(), clusters);
  }

  /**
   * {@code shared} (from a captured translator) plus {@code self}'s virtualInbound, after virtualOutbound,
   * and its app's cluster {@code inbound|<app port>}.
   */
  private static MeshResources withVirtualInbound(MeshResources shared, PolicySet state, Self self,
      io.keelson.control.security.ExtAuthzTranslator.Custom custom, ExtAuthzClusters extAuthz,
      java.time.Duration protocolDetectionTimeout, Policy.SidecarIngress ingress) {
    NodeRegistration.Capture c = self.capture();
    String cluster = CapturedListeners.appCluster(c.appPort());
    Authz.MtlsMode mode = self.spiffeId() == null ? Authz.MtlsMode.DISABLE : inboundMode(state, self);
    Listener inbound = CapturedListeners.virtualInbound(c.inboundPort(), c.appPort(), mode,
        appFilters(state, self, cluster, custom), passthroughRbac(state, self), c.ipv6());
    if (autoApp(state, self)) {
      // No declared protocol: HTTP detected (with an identity, by the ALPN the client sidecar offers), else TCP.
      inbound = self.spiffeId() == null ? DetectedProtocolListeners.inbound(inbound, cluster, protocolDetectionTimeout)
          : DetectedProtocolListeners.inboundWithIdentity(inbound, cluster, mode, appFilters(state, self, cluster, custom),
              tcpAppFilters(state, self, cluster, extAuthz), protocolDetectionTimeout);
    }
    List<Listener> listeners = new ArrayList<>(shared.listeners().size() + 1);
    // Dual-stack (keelson.io/ipv6): virtualOutbound on [::] too (as istiod for a proxy with IPv6 addresses; the inbound
    // clusters reach IPv6 destinations from ::6 by extra_source_addresses); else the shared IPv4 shape, which binds on a
    // host without IPv6.
    listeners.add(c.ipv6() ? CapturedListeners.dualStack(shared.listeners().getFirst()) : shared.listeners().getFirst());
    listeners.add(inbound);
    listeners.addAll(shared.listeners().subList(1, shared.listeners().size()));
    List<Cluster> clusters = new ArrayList<>(shared.clusters());
    Cluster app = CapturedListeners.appClusterResource(c.appPort(), c.address(), ingress);
    clusters.add(!streams(state, self) && UpstreamProtocols.appHttp2(state, self.service(), c.appPort())
        ? UpstreamProtocols.http2(app) : app);
    return shared.withListenersAndClusters(listeners, clusters);
  }

  /**
   * What a sidecar runs on inbound traffic to its app ({@code cluster}): an HTTP connection manager with
   * JWT, CUSTOM external authorization, RBAC and its service's local rate limit, or network CUSTOM external authorization
   * (gRPC providers), network RBAC and a tcp_proxy for a TCP app; without an identity, neither policy.
   * Today's inbound listener and a captured sidecar's app-port chains are both made of these.
   */
  private static List<Filter> appFilters(PolicySet state, Self self, String cluster,
      io.keelson.control.security.ExtAuthzTranslator.Custom custom) {
    boolean tcp = streams(state, self);
    var rateLimit = RateLimitBuilder.inbound(state, self.service());
    // istiod adds grpc_web to a GRPC-Web port's inbound chain too, after authentication and authorization
    boolean grpcWeb = UpstreamProtocols.appProtocol(state, self.service(), self.appPort()) == Policy.Protocol.GRPC_WEB;
    if (self.spiffeId() == null) {
      List<HttpFilter> plain = new ArrayList<>();
      if (rateLimit != null) {
        plain.add(rateLimit);
      }
      if (grpcWeb) {
        plain.add(GrpcWebBuilder.FILTER_ENTRY);
      }
      return tcp ? MeshMtls.tcpTo(cluster, MeshMtls.INBOUND, List.of()) : List.of(MeshMtls.httpToApp(cluster, plain));
    }
    String ns = io.keelson.dataplane.security.SpiffeId.parse(self.spiffeId()).namespace();
    if (tcp) {
      return identityTcpFilters(state, self, ns, cluster, custom);
    }
    var authz = io.keelson.control.security.AuthorizationTranslator.http(ns, self.labels(),
        state.ofType(Policy.AuthorizationPolicy.class), io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    List<io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter> filters =
        new ArrayList<>();
    // JWT authentication (RequestAuthentication) runs before RBAC, which reads the verified principal.
    var jwt = io.keelson.control.security.RequestAuthenticationTranslator.httpFilter(ns, self.labels(),
        state.ofType(Policy.RequestAuthentication.class), io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    if (jwt != null) {
      filters.add(jwt);
    }
    filters.addAll(custom.filters()); // istiod: CUSTOM before DENY and ALLOW
    filters.addAll(authz.httpFilters());
    if (rateLimit != null) { // after authorization: only admitted requests take tokens
      filters.add(rateLimit);
    }
    if (grpcWeb) {
      filters.add(GrpcWebBuilder.FILTER_ENTRY);
    }
    return List.of(MeshMtls.httpToApp(cluster, filters));
  }

  /**
   * The TCP chain of an app port with no declared protocol, for a sidecar with an identity: network CUSTOM external
   * authorization and RBAC (the TCP variants of its policies, as on a TCP port) before a tcp_proxy to {@code cluster}.
   */
  private static List<Filter> tcpAppFilters(PolicySet state, Self self, String cluster, ExtAuthzClusters extAuthz) {
    String ns = io.keelson.dataplane.security.SpiffeId.parse(self.spiffeId()).namespace();
    return identityTcpFilters(state, self, ns, cluster, tcpCustom(state, self, ns, extAuthz));
  }

  /** An identity sidecar's TCP app chain: network CUSTOM ({@code custom}), then DENY/ALLOW RBAC, then a tcp_proxy. */
  private static List<Filter> identityTcpFilters(PolicySet state, Self self, String ns, String cluster,
      io.keelson.control.security.ExtAuthzTranslator.Custom custom) {
    var authz = io.keelson.control.security.AuthorizationTranslator.tcp(ns, self.labels(),
        state.ofType(Policy.AuthorizationPolicy.class), io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    List<Filter> network = new ArrayList<>(custom.networkFilters()); // istiod: CUSTOM before DENY and ALLOW
    network.addAll(authz.networkFilters(MeshMtls.INBOUND + "."));
    return MeshMtls.tcpTo(cluster, MeshMtls.INBOUND, network);
  }

  private static io.keelson.control.security.ExtAuthzTranslator.Custom tcpCustom(PolicySet state, Self self, String ns,
      ExtAuthzClusters extAuthz) {
    return io.keelson.control.security.ExtAuthzTranslator.tcp(ns, self.labels(),
        state.ofType(Policy.AuthorizationPolicy.class),
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, extAuthz.providers());
  }

  /** True when {@code self} is a captured sidecar whose app port has no declared protocol (HTTP detected, else TCP). */
  static boolean autoApp(PolicySet state, Self self) {
    return self.capture() != null && !self.tcp()
        && UpstreamProtocols.appProtocol(state, self.service(), self.capture().appPort()) == Policy.Protocol.AUTO;
  }

  /**
   * The envoyExtAuthzHttp provider a CUSTOM policy names for {@code self}'s undeclared-protocol app port that the
   * port's TCP chains skip (as istiod does), so that connections not detected as HTTP (a client offering ALPN
   * {@code istio}, plaintext that is not HTTP) reach the app unchecked; null when none is skipped, or the port is not
   * such a port of a sidecar with an identity. (A TCP app's own is {@link #custom}'s {@code ignoredProvider}.)
   */
  static String providerSkippedOnAutoTcp(PolicySet state, Self self, ExtAuthzClusters extAuthz) {
    if (self.spiffeId() == null || !autoApp(state, self)) {
      return null;
    }
    String ns = io.keelson.dataplane.security.SpiffeId.parse(self.spiffeId()).namespace();
    return tcpCustom(state, self, ns, extAuthz).ignoredProvider();
  }

  /**
   * True when {@code self}'s app takes streams, not HTTP: it registered so ({@code --inbound-protocol tcp}), or its
   * Service's port for its app port (or its only port) is TCP or TLS.
   */
  static boolean streams(PolicySet state, Self self) {
    if (self.tcp()) {
      return true;
    }
    Policy.Protocol p = UpstreamProtocols.appProtocol(state, self.service(), self.appPort());
    return p != null && !p.http();
  }

  /** A captured sidecar's network RBAC for inbound passthrough traffic (Istio's: its policies' TCP variant). */
  private static List<Filter> passthroughRbac(PolicySet state, Self self) {
    if (self.spiffeId() == null) {
      return List.of();
    }
    String ns = io.keelson.dataplane.security.SpiffeId.parse(self.spiffeId()).namespace();
    return io.keelson.control.security.AuthorizationTranslator.tcp(ns, self.labels(),
        state.ofType(Policy.AuthorizationPolicy.class), io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE)
        .networkFilters(CapturedListeners.INBOUND_PASSTHROUGH + ".");
  }

  /** Translations run by this translator (shared ones; {@link #withInbound} is not one). */
  synchronized long translations() {
    return translations;
  }

  /** ClusterLoadAssignments built (not reused) by this translator. */
  long assignmentsBuilt() {
    return assignments.built();
  }

  /** The SPIFFE IDs of {@code service}'s workloads, or null when one of them has none or disables mTLS. */
  private static java.util.Set<String> identities(PolicySet state, String service, List<Policy.Workload> workloads,
      Map<String, Self> identities) {
    java.util.Set<String> ids = new java.util.TreeSet<>();
    for (Policy.Workload w : workloads) {
      if (w.service().equals(service)) {
        Self id = identities.get(w.name());
        if (id == null || inboundMode(state, id) == io.keelson.control.policy.Authz.MtlsMode.DISABLE) {
          return null; // Istio's auto mTLS: plaintext to a workload that cannot (or will not) take mTLS
        }
        ids.add(id.spiffeId());
      }
    }
    return ids.isEmpty() ? null : ids;
  }

  /**
   * {@code c} with auto mTLS to {@code ids} (null: plaintext); with {@code dr}'s {@code tls} mode ISTIO_MUTUAL and a
   * caller with an identity ({@code mtls}), mesh mTLS whatever the workloads (its {@code sni} and
   * {@code subjectAltNames}, as istiod; without them the workloads' identities, or any mesh identity).
   */
  private static Cluster mtls(Cluster c, java.util.Set<String> ids, boolean http2, Policy.DestinationRule dr,
      boolean mtls) {
    Policy.ClientTls tls = dr == null ? null : dr.tls();
    if (mtls && tls != null && tls.istioMutual()) {
      return MeshMtls.withPeerExchange(c.toBuilder().setTransportSocket(
          MeshMtls.istioMutual(tls, ids == null ? java.util.Set.of() : ids, http2))).build();
    }
    return ids == null ? c : MeshMtls.withPeerExchange(c.toBuilder().setTransportSocket(MeshMtls.upstream(ids, http2))).build();
  }

  /**
   * ISTIO_MUTUAL ({@code dr}'s {@code tls}) from a caller without an identity ({@code mtls} false) fails closed: no
   * endpoints, never plaintext, as for ServiceEntry hosts (its status says why).
   */
  private static boolean closed(Policy.DestinationRule dr, boolean mtls) {
    return !mtls && dr != null && dr.tls() != null && dr.tls().istioMutual();
  }

  private static io.keelson.control.policy.Authz.MtlsMode inboundMode(PolicySet state, Self self) {
    io.keelson.dataplane.security.SpiffeId id = io.keelson.dataplane.security.SpiffeId.parse(self.spiffeId());
    var settings = io.keelson.control.security.PeerAuthenticationResolver.resolve(id.namespace(), self.labels(),
        state.ofType(Policy.PeerAuthentication.class),
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    return self.appPort() > 0 ? settings.modeFor(self.appPort()) : settings.mode();
  }

  public static String subsetCluster(String service, String subset) {
    return subset == null ? service : service + "|" + subset;
  }

  static Policy.DestinationRule destinationRule(PolicySet state, String service) {
    for (Policy.DestinationRule dr : state.ofType(Policy.DestinationRule.class)) {
      if (dr.host().equals(service)) {
        return dr;
      }
    }
    return null;
  }

  /** The route documents attached to {@code service}, in name order (VirtualServices first, as Istio merges them, then GRPCRoutes). */
  static List<Policy.Routes> routesOf(PolicySet state, String service) {
    List<Policy.Routes> out = new ArrayList<>();
    for (Policy.Routes r : state.ofType(Policy.Routes.class)) {
      if (r.forMesh() && r.services().contains(service)) { // a VirtualService for gateways only is not the sidecars'
        out.add(r);
      }
    }
    // GRPCRoutes before HTTPRoutes: theirs match gRPC requests only, which an HTTPRoute's "/" would take first.
    out.sort(java.util.Comparator.comparing((Policy.Routes r) -> switch (r.kind()) {
      case "VirtualService" -> 0;
      case "GRPCRoute" -> 1;
      default -> 2;
    }).thenComparing(Policy::name));
    return out;
  }

  /**
   * {@code svc}'s virtual hosts on the shared outbound listener: one ({@link #virtualHost}) for all of {@code ports}, or,
   * when a rule's match names a {@code port} and there are several, one per port (each with only the matches of its
   * port): each of its names with {@code :port}, and the names alone and the routes' hostnames with the first port
   * (where a Host without a port goes, as to a backend of port 0). With one port, matches naming another port are left
   * out.
   */
  private List<VirtualHost> virtualHosts(PolicySet state, Policy.Service svc, List<Integer> ports, ClusterNames names) {
    boolean byPort = ports.size() > 1 && routesOf(state, svc.name()).stream()
        .flatMap(r -> io.keelson.control.store.Delegation.rules(state, r).stream())
        .flatMap(rule -> rule.matches().stream()).anyMatch(m -> m.scope().port() != null);
    if (!byPort) {
      // One port: a match naming another port is left out, as istiod builds a route per service port.
      return List.of(virtualHost(state, svc, ports, names, ports.size() == 1 ? ports.getFirst() : null));
    }
    List<VirtualHost> out = new ArrayList<>();
    for (int i = 0; i < ports.size(); i++) {
      int port = ports.get(i);
      VirtualHost vh = virtualHost(state, svc, List.of(port), names, port);
      out.add(i == 0 ? vh : vh.toBuilder().setName(svc.name() + ":" + port).clearDomains()
          .addAllDomains(MeshNames.names(svc).stream().map(n -> n + ":" + port).toList()).build());
    }
    return out;
  }

  /**
   * {@code svc}'s virtual host: domains its {@link MeshNames#names} ({@code reviews.shop}, ...,
   * {@code reviews.shop.svc.cluster.local}), each also with {@code :port} for each of {@code ports}, its routes' hostnames;
   * {@code port}: the one port its routes are for (matches naming another port are left out), or null.
   */
  private VirtualHost virtualHost(PolicySet state, Policy.Service svc, List<Integer> ports, ClusterNames names,
      Integer port) {
    VirtualHost.Builder vh = VirtualHost.newBuilder().setName(svc.name())
        .setIncludeRequestAttemptCount(true); // as istiod: every try tells the app its number (x-envoy-attempt-count)
    for (String name : MeshNames.names(svc)) { // as istiod: NAME.NS.svc.cluster.local, NAME.NS.svc, NAME.NS (NAME)
      vh.addDomains(name);
      for (int p : ports) {
        vh.addDomains(name + ":" + p);
      }
    }
    List<Policy.Routes> attached = routesOf(state, svc.name());
    for (Policy.Routes r : attached) {
      for (String h : r.hostnames()) {
        if (!vh.getDomainsList().contains(h)) {
          vh.addDomains(h);
        }
      }
      for (Policy.Rule rule : io.keelson.control.store.Delegation.rules(state, r)) {
        RouteBuilder.addRoutes(vh, r, rule, state, names, Policy.Routes.MESH, port);
      }
    }
    if (vh.getRoutesCount() == 0) { // no routes, or only tcp/tls rules
      vh.addRoutes(RouteBuilder.defaultRoute(svc.name(), svc.name(), state));
    }
    if (svc.session() != null && !apiListeners) { // istiod: on the service's virtual host, over the empty filter
      vh.putTypedPerFilterConfig(PersistentSessions.FILTER, PersistentSessions.perRoute(svc.session()));
    }
    return vh.build();
  }

  /** @param istioDefaults istiod's unlimited default circuit breakers (not for proxyless gRPC clients) */
  static Cluster cluster(String name, Policy.Balancing lb, Policy.DestinationRule dr, boolean http2,
      boolean istioDefaults) {
    Cluster.Builder c = Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1));
    ConsistentHashing.apply(c, lb);
    ClusterDefaults.apply(c, dr, http2, istioDefaults, true);
    if (istioDefaults) { // gRPC clients always weigh localities (and are not sent it)
      LocalityAssignments.weighLocalities(c, dr);
    }
    return c.build();
  }

  static boolean matches(Map<String, String> selector, Map<String, String> labels) {
    return io.keelson.control.policy.LabelSelector.includes(selector, labels);
  }

  /**
   * @param grpcWeb  a service has a GRPC-Web port: the connection manager runs envoy.filters.http.grpc_web
   * @param sessions a service has a persistent session: it runs envoy.filters.http.stateful_session
   */
  private Listener outboundListener(boolean grpcWeb, boolean sessions) {
    HttpConnectionManager hcm = MeshConnectionManagers.newBuilder()
        .setStatPrefix(OUTBOUND)
        .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(OUTBOUND))
        .addAllHttpFilters(outboundHttpFilters(grpcWeb, sessions))
        .build();
    return Listener.newBuilder()
        .setName(OUTBOUND)
        .setAddress(address("127.0.0.1", outboundPort))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
        .build();
  }

  /**
   * The outbound HTTP filters: listener {@value #OUTBOUND}'s, and a captured sidecar's per-port listeners'; with
   * {@code grpcWeb} (a GRPC-Web service port among them), envoy.filters.http.grpc_web first, as istiod puts it before
   * fault and CORS; with {@code sessions} (a service with a persistent session among them), an empty
   * envoy.filters.http.stateful_session just before the router, as istiod puts it.
   */
  private List<HttpFilter> outboundHttpFilters(boolean grpcWeb, boolean sessions) {
    if (apiListeners) {
      // proxyless gRPC clients validate this listener as a server-side one, where gRPC has no fault or cors filter
      return List.of(router());
    }
    // in istiod's order (cors, then fault): each a no-op unless a route sets its config
    List<HttpFilter> filters = new ArrayList<>();
    if (grpcWeb) {
      filters.add(GrpcWebBuilder.FILTER_ENTRY);
    }
    filters.add(CorsBuilder.FILTER_ENTRY);
    filters.add(FaultBuilder.FILTER_ENTRY);
    if (sessions) {
      filters.add(PersistentSessions.FILTER_ENTRY);
    }
    filters.add(router());
    return List.copyOf(filters);
  }

  /**
   * The names a proxyless gRPC client may dial {@code svc} by ({@code xds:///NAME}), one API listener each, as istiod
   * answers them: each of its {@link MeshNames#names} (the key, ..., {@code NAME.NS.svc.cluster.local}) alone and with
   * {@code :PORT} of each of its HTTP {@code ports}; its virtual host has the same domains, where gRPC looks the
   * name up.
   */
  static List<String> apiListenerNames(Policy.Service svc, List<Integer> ports) {
    List<String> out = new ArrayList<>();
    for (String name : MeshNames.names(svc)) {
      out.add(name);
      ports.forEach(p -> out.add(name + ":" + p));
    }
    return out;
  }

  private static Listener apiListener(String service, String name) {
    HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix(service)
        .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(OUTBOUND))
        .addHttpFilters(router())
        .build();
    return Listener.newBuilder()
        .setName(name)
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm)))
        .build();
  }

  private static HttpFilter router() {
    return HttpFilter.newBuilder().setName("envoy.filters.http.router")
        .setTypedConfig(Any.pack(Router.getDefaultInstance())).build();
  }

  static Address address(String host, int port) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port)).build();
  }
}
