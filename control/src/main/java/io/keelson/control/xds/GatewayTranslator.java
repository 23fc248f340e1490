package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * An ingress gateway proxy's listeners and routes, istiod's way: the servers of every Gateway (Istio's, or the
 * Gateway API's, whose listeners are servers too) whose {@code selector} matches the proxy's labels, grouped by port, become listener {@code <address>_<port>} (an HTTP
 * connection manager with {@code use_remote_address}, RDS {@code http.<port>}; HTTPS: a TLS filter chain per server,
 * selected by {@code server_names} from its hosts, each with its own connection manager and RDS
 * {@code https.<port>.<portName>.<gatewayName>.<namespace>} holding only that server's hosts); each VirtualService or HTTPRoute bound
 * to the Gateway (an HTTPRoute's {@code sectionName}: to one listener) adds a virtual host per host it shares with a server, whose routes go to the mesh services' clusters
 * (those of the shared identified translation: mesh mTLS with the gateway's own SPIFFE identity). A plaintext
 * server with {@code tls.httpsRedirect} answers 301 to https for its hosts. TLS (PASSTHROUGH) and TCP servers get
 * tcp_proxy chains from the bound VirtualServices' {@code tls} (by SNI) and {@code tcp} rules; a TLS port with
 * terminating servers is {@link TerminatedTlsListener}'s (a chain per terminating server by its hosts, then the
 * passthrough chains, {@link #addPassthroughChains}). A port with HTTPS and TLS servers (istiod's) is one listener:
 * the HTTPS chains, then the terminating TLS servers' and the passthrough servers' tcp_proxy chains, each chosen by
 * SNI; a name an earlier chain selects is left out of the later ones. Stateless.
 */
final class GatewayTranslator {
  private GatewayTranslator() {}

  /** A server of a Gateway selecting this proxy. */
  record Bound(Policy.Gateway gateway, Policy.Server server) {}

  /**
   * {@link #translate(MeshResources, PolicySet, Map, String, String, boolean, boolean, DistinctDomains)} without HTTP/3
   * mirrors, its domain clash warnings its own.
   */
  static MeshResources translate(MeshResources shared, PolicySet state, Map<String, String> labels, String address,
      String sdsNamespace, boolean identity) {
    return translate(shared, state, labels, address, sdsNamespace, identity, false, new DistinctDomains());
  }

  /**
   * {@code shared}'s clusters and endpoints (the mesh, over mTLS when the gateway has an identity) with the listeners
   * and routes of the Gateways selecting {@code labels}, bound on {@code address}.
   *
   * @param sdsNamespace the namespace of the gateway's join token: server certificates as SDS references
   *        ({@link GatewayTls#downstreamSds}), only those of Secrets it may read; null (the plaintext xDS port): servers
   *        needing a Secret get no chain (see {@link #warnings})
   * @param identity the gateway has a SPIFFE ID (ISTIO_MUTUAL servers need it; without, they get no chain)
   * @param quic istiod's {@code PILOT_ENABLE_QUIC_LISTENERS}: HTTPS ports get their HTTP/3 mirror ({@link GatewayQuic})
   * @param domains the domain clash warnings' memory (the xDS server's)
   */
  static MeshResources translate(MeshResources shared, PolicySet state, Map<String, String> labels, String address,
      String sdsNamespace, boolean identity, boolean quic, DistinctDomains domains) {
    // Backends are registry Services or ServiceEntry hosts (istiod's outbound|<port>||<host> clusters, in shared).
    ClusterNames names = new ClusterNames(io.keelson.control.store.ServiceEntries.byHost(state), 0);
    Map<Integer, List<Bound>> byPort = new TreeMap<>();
    for (Policy.Gateway g : state.ofType(Policy.Gateway.class)) {
      if (!g.selector().isEmpty() && MeshTranslator.matches(g.selector(), labels)) {
        for (Policy.Server s : g.servers()) {
          byPort.computeIfAbsent(s.port(), p -> new ArrayList<>()).add(new Bound(g, s));
        }
      }
    }
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    for (var e : byPort.entrySet()) {
      int port = e.getKey();
      List<Bound> servers = e.getValue();
      // References keeps one protocol per port among Gateways with the same selector (HTTPS and TLS may share one);
      // HTTPS wins a clash otherwise.
      List<Bound> https = servers.stream().filter(b -> b.server().https()).toList();
      boolean tls = !https.isEmpty();
      if (!tls && servers.stream().anyMatch(b -> b.server().protocol().equals("TLS") || b.server().protocol().equals("TCP"))) {
        Listener stream = TerminatedTlsListener.terminates(servers)
            ? TerminatedTlsListener.build(address, port, servers, state, names, sdsNamespace, identity)
            : streamListener(address, port, servers, state, names);
        if (stream != null) {
          listeners.add(stream);
        }
        continue;
      }
      Listener.Builder l = Listener.newBuilder().setName(address + "_" + port)
          .setAddress(MeshTranslator.address(address, port));
      GatewayQuic.Mirror mirror = GatewayQuic.Mirror.NONE;
      if (!tls) {
        String routeName = "http." + port;
        routes.add(routeConfig(routeName, port, servers, state, names));
        // istiod adds grpc_web to a GRPC-Web server's connection manager
        boolean grpcWeb = servers.stream().anyMatch(b -> b.server().protocol().equals("GRPC-WEB"));
        l.addFilterChains(FilterChain.newBuilder()
            .addFilters(connectionManager(address + "_" + port, routeName, grpcWeb, state)));
      } else {
        // A route config per server, as istiod names them: each SNI-selected chain serves only its server's hosts.
        Map<String, List<Bound>> byRoute = new java.util.LinkedHashMap<>();
        for (Bound b : https) {
          byRoute.computeIfAbsent(httpsRouteName(b), k -> new ArrayList<>()).add(b);
        }
        byRoute.forEach((routeName, bound) -> routes.add(routeConfig(routeName, port, bound, state, names)));
        l.addListenerFilters(MeshMtls.tlsInspector());
        java.util.Set<String> taken = new java.util.HashSet<>(); // names an HTTPS chain selects ("*": none)
        List<GatewayQuic.Server> http3 = new ArrayList<>(); // istiod's IsEligibleForHTTP3Upgrade: HTTPS, terminated
        for (Bound b : https) {
          GatewayTls.ServerSocket socket = GatewayTls.forServer(state, b.gateway(), b.server(), sdsNamespace, identity);
          if (socket.socket() == null) {
            continue; // reported in the proxy's status (warnings)
          }
          FilterChainMatch.Builder match = FilterChainMatch.newBuilder();
          if (!b.server().hosts().contains("*")) {
            match.addAllServerNames(b.server().hosts());
          }
          FilterChain chain = FilterChain.newBuilder().setName(b.gateway().ref() + "/" + b.server().index())
              .setFilterChainMatch(match).addFilters(connectionManager(address + "_" + port, httpsRouteName(b), b.server().grpcWeb(), state))
              .setTransportSocket(socket.socket()).build();
          l.addFilterChains(chain);
          if (quic && b.server().protocol().equals("HTTPS")) {
            http3.add(new GatewayQuic.Server(chain, httpsRouteName(b)));
          }
          taken.addAll(b.server().hosts().contains("*") ? List.of("*") : b.server().hosts());
        }
        // TLS servers on the same port (istiod's): their tcp_proxy chains beside the HTTPS ones, all chosen by SNI.
        String name = address + "_" + port;
        TerminatedTlsListener.addChains(l, name, port, servers, state, names, sdsNamespace, identity, taken);
        addPassthroughChains(l, name, port, servers, state, names, taken);
        if (l.getFilterChainsCount() == 0) {
          continue;
        }
        mirror = GatewayQuic.of(address, port, http3);
      }
      listeners.add(l.build());
      if (mirror.listener() != null) {
        listeners.add(mirror.listener());
        Set<String> advertised = mirror.advertisedRoutes();
        routes.replaceAll(rc -> advertised.contains(rc.getName()) ? GatewayQuic.advertised(rc, port) : rc);
      }
    }
    // DestinationRule credentialName: a gateway's clusters originate TLS with SDS secrets (sidecars' do not).
    List<Cluster> clusters = GatewayOrigination.clusters(state, shared.clusters());
    List<RouteConfiguration> distinct = domains.of(routes);
    return new MeshResources(List.copyOf(listeners), List.copyOf(distinct), clusters, shared.endpoints(),
        MeshResources.digest(listeners), MeshResources.digest(distinct),
        clusters == shared.clusters() ? shared.clustersVersion() : MeshResources.digest(clusters),
        shared.endpointsVersion());
  }

  /**
   * Why terminating servers of the Gateways selecting {@code labels} get no filter chain on a gateway connected as
   * {@code sdsNamespace}/{@code identity} say ({@link GatewayTls#forServer}): one line each, for its status.
   */
  static List<String> warnings(PolicySet state, Map<String, String> labels, String sdsNamespace, boolean identity) {
    List<String> out = new ArrayList<>();
    for (Policy.Gateway g : state.ofType(Policy.Gateway.class)) {
      if (g.selector().isEmpty() || !MeshTranslator.matches(g.selector(), labels)) {
        continue;
      }
      for (Policy.Server s : g.servers()) {
        if (s.https() || s.terminatesTls()) {
          String skipped = GatewayTls.forServer(state, g, s, sdsNamespace, identity).skipped();
          if (skipped != null) {
            out.add(skipped);
          }
        }
      }
    }
    out.addAll(GatewayOrigination.warnings(state, sdsNamespace));
    return out;
  }

  /**
   * A TLS (PASSTHROUGH) or TCP port: TLS, the TLS inspector and a tcp_proxy chain per bound VirtualService {@code tls}
   * rule of this port, matched by its {@code sniHosts} that a server's hosts cover (first rule wins a name); TCP, one
   * tcp_proxy chain from the first bound {@code tcp} rule of this port ({@link GatewayTcpRule#first}). Null when no rule applies (nothing to listen for).
   */
  private static Listener streamListener(String address, int port, List<Bound> servers, PolicySet state,
      ClusterNames names) {
    boolean passthrough = servers.stream().anyMatch(b -> b.server().protocol().equals("TLS"));
    String name = address + "_" + port;
    Listener.Builder l = Listener.newBuilder().setName(name).setAddress(MeshTranslator.address(address, port));
    if (passthrough) {
      l.addListenerFilters(MeshMtls.tlsInspector());
      addPassthroughChains(l, name, port, servers, state, names, new java.util.HashSet<>());
      return l.getFilterChainsCount() == 0 ? null : l.build();
    }
    List<Policy.Routes> all = state.ofType(Policy.Routes.class).stream()
        .sorted(java.util.Comparator.comparing(Policy::name)).toList();
    for (Bound b : servers) {
      GatewayTcpRule rule = b.server().protocol().equals("TCP") ? GatewayTcpRule.first(b, port, all, state) : null;
      if (rule != null) {
        String prefix = "outbound_" + name + "|" + rule.route().name();
        return l.addFilterChains(FilterChain.newBuilder().setName(prefix)
            .addFilters(StreamListeners.tcpProxy(state, prefix, rule.rule().backends(), null, names))).build();
      }
    }
    return null;
  }

  /**
   * The PASSTHROUGH servers' tcp_proxy chains of a TLS port, added to {@code l}: one per bound {@code tls} rule (TLSRoute)
   * of this port, matched by its {@code sniHosts} that a server's hosts cover, leaving out names in {@code taken}
   * (chains already on the listener: Envoy refuses two chains with the same match; the first rule wins a name).
   */
  static void addPassthroughChains(Listener.Builder l, String name, int port, List<Bound> servers, PolicySet state,
      ClusterNames names, java.util.Set<String> taken) {
    List<Policy.Routes> all = state.ofType(Policy.Routes.class).stream()
        .sorted(java.util.Comparator.comparing(Policy::name)).toList();
    for (Bound b : servers) {
      if (!b.server().protocol().equals("TLS") || b.server().terminatesTls()) {
        continue; // a terminating server's chain is TerminatedTlsListener's
      }
      for (Policy.Routes r : all) {
        if (!io.keelson.control.policy.ListenerRoutes.attaches(r, b.gateway(), b.server(), state::namespaceLabels)) {
          continue;
        }
        for (Policy.StreamRule rule : r.streams()) {
          boolean istio = r.kind().equals("VirtualService");
          if (rule.protocol() != Policy.Protocol.TLS || (istio && rule.port() != null && rule.port() != port)
              || !rule.appliesOn(b.gateway().ref())) {
            continue;
          }
          String prefix = "outbound_" + name + "|" + r.name();
          List<String> sni = StreamServerNames.of(rule, istio, b.server()).stream().filter(taken::add).toList();
          if (!sni.isEmpty()) {
            FilterChainMatch.Builder match = FilterChainMatch.newBuilder();
            if (!sni.contains("*")) {
              match.addAllServerNames(sni);
            }
            l.addFilterChains(FilterChain.newBuilder().setName(prefix + "|" + sni.getFirst())
                .setFilterChainMatch(match)
                .addFilters(StreamListeners.tcpProxy(state, prefix, rule.backends(), null, names)));
          }
        }
      }
    }
  }

  /**
   * istiod's RDS name for an HTTPS server, {@code https.<port>.<portName>.<gatewayName>.<namespace>}: servers of one
   * Gateway on one port with the same port name share it (and their route config holds the hosts of them all).
   */
  static String httpsRouteName(Bound b) {
    return "https." + b.server().port() + "." + b.server().portName() + "." + b.gateway().name() + "." + b.gateway().namespace();
  }

  /**
   * @param grpcWeb a GRPC-WEB server: envoy.filters.http.grpc_web first, before CORS and fault (istiod's order)
   * @param state   a Service with a persistent session in it: an empty stateful_session before the router, as istiod
   */
  private static Filter connectionManager(String statPrefix, String routeName, boolean grpcWeb, PolicySet state) {
    HttpConnectionManager.Builder b = MeshConnectionManagers.newBuilder();
    if (grpcWeb) {
      b.addHttpFilters(GrpcWebBuilder.FILTER_ENTRY);
    }
    b.setStatPrefix("outbound_" + statPrefix)
        .setUseRemoteAddress(BoolValue.of(true)) // the edge: the client's address is the peer's, not a header's
        .setRds(Rds.newBuilder().setConfigSource(MeshTranslator.ADS).setRouteConfigName(routeName))
        .addHttpFilters(CorsBuilder.FILTER_ENTRY)
        .addHttpFilters(FaultBuilder.FILTER_ENTRY);
    if (PersistentSessions.anyOn(state.ofType(Policy.Service.class))) {
      b.addHttpFilters(PersistentSessions.FILTER_ENTRY);
    }
    HttpConnectionManager hcm = b
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Filter.newBuilder().setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))
        .build();
  }

  /**
   * One virtual host per host a bound VirtualService shares with a server of this port (the more specific of the
   * two names), its routes those of every such VirtualService in name order; a Host no virtual host names gets 404.
   */
  private static RouteConfiguration routeConfig(String name, int port, List<Bound> servers, PolicySet state,
      ClusterNames names) {
    Map<String, VirtualHost.Builder> hosts = new TreeMap<>();
    Map<String, Boolean> redirect = new TreeMap<>();
    List<Policy.Routes> all = state.ofType(Policy.Routes.class).stream()
        .sorted(java.util.Comparator.comparing(Policy::name)).toList();
    for (Bound b : servers) {
      boolean toHttps = b.server().tls() != null && b.server().tls().httpsRedirect() && !b.server().https();
      for (Policy.Routes r : all) {
        if (!io.keelson.control.policy.ListenerRoutes.attaches(r, b.gateway(), b.server(), state::namespaceLabels)) {
          continue;
        }
        for (String vsHost : r.gatewayHosts()) {
          for (String serverHost : b.server().hosts()) {
            String host = io.keelson.control.policy.GatewayHosts.intersection(serverHost, vsHost);
            if (host == null) {
              continue;
            }
            VirtualHost.Builder vh = hosts.get(host);
            if (vh == null) {
              vh = VirtualHost.newBuilder().setName(host + ":" + port).addDomains(host);
              if (!host.equals("*")) {
                vh.addDomains(host + ":" + port);
              }
              hosts.put(host, vh);
            }
            if (toHttps) {
              redirect.put(host, true);
            } else if (!vh.getRoutesList().stream().anyMatch(x -> x.getName().startsWith(r.kind() + "/" + r.name() + "/"))) {
              for (Policy.Rule rule : io.keelson.control.store.Delegation.rules(state, r)) {
                RouteBuilder.addRoutes(vh, r, rule, state, names, b.gateway().ref(), port);
              }
            }
          }
        }
      }
    }
    RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(name);
    hosts.forEach((host, vh) -> {
      if (redirect.containsKey(host)) {
        vh.clearRoutes().addRoutes(Route.newBuilder().setName("https-redirect")
            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRedirect(RedirectAction.newBuilder().setHttpsRedirect(true)
                .setResponseCode(RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY)));
      }
      rc.addVirtualHosts(vh);
    });
    return rc.build();
  }
}
