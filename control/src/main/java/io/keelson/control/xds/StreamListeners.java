package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.Cidr;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * A captured sidecar's outbound {@code 0.0.0.0_<port>} listener for a TCP or TLS service port, in istiod's shape
 * (not bound; virtualOutbound hands it the connections to that port):
 * <ul>
 *   <li>TCP: a chain per distinct {@code destinationSubnets} of the service's VirtualService {@code tcp} rules before
 *       the first rule without them ({@code filter_chain_match.prefix_ranges}, to that rule's clusters), then one chain,
 *       {@code envoy.filters.network.tcp_proxy} to the service's cluster, or to the weighted clusters of the first
 *       {@code tcp} rule without subnets / TCPRoute that applies to the port;
 *   <li>TLS: the TLS inspector, then a chain per {@code tls} rule / TLSRoute matching its SNI hosts
 *       ({@code filter_chain_match.server_names}, and its {@code destinationSubnets} as {@code prefix_ranges}) to its
 *       clusters, a chain for each service's own names
 *       ({@link MeshNames#names}: {@code svc}, {@code svc.default}, {@code svc.default.svc},
 *       {@code svc.default.svc.cluster.local}) to its cluster, and a last chain without SNI match to {@value CapturedListeners#PASSTHROUGH} (ALLOW_ANY).
 * </ul>
 * The clusters are the service's own (EDS, with the mesh mTLS transport socket when its workloads have
 * identities), so the app's bytes, TLS or not, cross the network inside mesh mTLS. ServiceEntry hosts' TCP and TLS
 * ports take the same code path ({@link ServiceEntryTranslator#streamListener}): a host's clusters are then istiod's
 * {@code outbound|<port>||<host>} ({@link ClusterNames}) and its own SNI name is the host alone. Stateless.
 */
final class StreamListeners {
  private StreamListeners() {}

  /** {@code 0.0.0.0_<port>} for TCP service or ServiceEntry host {@code host}; {@code names} for {@code port}. */
  static Listener tcp(PolicySet state, ClusterNames names, int port, String host) {
    return unbound(port).addAllFilterChains(tcpChains(state, names, port, host, null, new HashSet<>())).build();
  }

  /**
   * {@code host}'s chains on {@code port}, in istiod's order: a chain per {@code tcp} rule with
   * {@code destinationSubnets} ({@code prefix_ranges}, to that rule's backends: istiod's destination CIDR chains) up to
   * the first rule that takes every address, then the host's own chain to that rule's backends, else to the service.
   * {@code own} are the host's addresses when it shares the listener (null: it takes any address): istiod builds these
   * chains in the host's own {@code <address>_<port>} listener, so a subnet counts only where it meets them, and the
   * own chain keeps what no subnet chain took. {@code taken} holds the listener's prefixes so far: Envoy refuses one
   * prefix in two chains.
   */
  private static List<FilterChain> tcpChains(PolicySet state, ClusterNames names, int port, String host,
      List<Cidr> own, Set<Cidr> taken) {
    List<FilterChain> out = new ArrayList<>();
    Policy.StreamRule last = null;
    for (TcpRuleSubnets.Placed placed : TcpRuleSubnets.rules(state, host, port)) {
      Policy.StreamRule rule = placed.rule();
      if (rule.destinationSubnets().isEmpty()) {
        last = rule; // the last of the rules: istiod's `break TcpLoop`
        break;
      }
      List<Cidr> cidrs = TcpRuleSubnets.within(rule.destinationSubnets(), own).stream().filter(taken::add).toList();
      if (!cidrs.isEmpty()) {
        out.add(FilterChain.newBuilder().setName(statPrefix(port, host) + "|" + String.join(",",
                cidrs.stream().map(Cidr::toString).toList()))
            .setFilterChainMatch(prefixes(FilterChainMatch.newBuilder(), cidrs))
            .addFilters(tcpProxy(state, statPrefix(port, host), rule.backends(), host, names)).build());
      }
    }
    List<Cidr> rest = own == null ? null : own.stream().filter(taken::add).toList();
    if (rest != null && rest.isEmpty()) {
      return out; // every address of the host has a subnet chain: an empty match would take any address
    }
    FilterChain.Builder chain = FilterChain.newBuilder().setName(statPrefix(port, host))
        .addFilters(tcpProxy(state, statPrefix(port, host), last == null ? List.of() : last.backends(), host, names));
    if (rest != null) {
      chain.setFilterChainMatch(prefixes(FilterChainMatch.newBuilder(), rest));
    }
    out.add(chain.build());
    return out;
  }

  private static FilterChainMatch.Builder prefixes(FilterChainMatch.Builder m, List<Cidr> cidrs) {
    return subnets(m, cidrs.stream().map(Cidr::toString).toList());
  }

  /** A chain's match leaves for server name {@code sni}: one per subnet (or one for any address), as Envoy's. */
  private static List<String> matchKeys(List<String> subnets, String sni) {
    return subnets.isEmpty() ? List.of(" " + sni) : subnets.stream().map(c -> c + " " + sni).toList();
  }

  private static FilterChainMatch.Builder subnets(FilterChainMatch.Builder m, List<String> cidrs) {
    cidrs.forEach(c -> m.addPrefixRanges(io.keelson.control.security.AuthorizationTranslator.cidr(c)));
    return m;
  }

  /**
   * {@code 0.0.0.0_<port>} for several TCP services sharing the port, told apart by destination address: each
   * service's chain (as {@link #tcp}) matches its VIP ({@code filter_chain_match.prefix_ranges} VIP/32, istiod's
   * {@code <VIP>_<port>} in one listener), and a connection to any other address of the port goes where the app sent
   * it ({@value CapturedListeners#PASSTHROUGH_CHAIN}, ALLOW_ANY).
   */
  static Listener tcpByAddress(PolicySet state, ClusterNames names, int port, List<Policy.Service> services,
      java.util.Map<String, String> vips) {
    return tcpByPrefixes(state, names, port, vipsOf(services, vips));
  }

  /**
   * {@code 0.0.0.0_<port>} with a chain per host in {@code prefixes} matching its addresses (as {@link
   * #withPrefixChains}), and the passthrough chain for any other address: istiod's {@code <ADDRESS>_<port>} listeners of
   * ServiceEntries with {@code addresses}, in one listener.
   */
  static Listener tcpByPrefixes(PolicySet state, ClusterNames names, int port,
      java.util.Map<String, List<String>> prefixes) {
    Listener passthrough = unbound(port).addFilterChains(CapturedListeners.passthroughChain()).build();
    return withPrefixChains(passthrough, state, names, port, prefixes);
  }

  /**
   * {@code listener} (a port listener whose chains match no address) with, first, a chain per TCP service in
   * {@code services} matching its VIP ({@code prefix_ranges} VIP/32): a connection to a TCP service's VIP is that
   * service's, any other keeps going to the listener's own chains (an HTTP port's Host routing, or the passthrough).
   */
  static Listener withVipChains(Listener listener, PolicySet state, ClusterNames names, int port,
      List<Policy.Service> services, java.util.Map<String, String> vips) {
    return withPrefixChains(listener, state, names, port, vipsOf(services, vips));
  }

  private static java.util.Map<String, List<String>> vipsOf(List<Policy.Service> services,
      java.util.Map<String, String> vips) {
    java.util.Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    services.forEach(svc -> out.put(svc.name(), List.of(vips.get(svc.name()))));
    return out;
  }

  /**
   * {@code listener} with, first, a chain per host (a TCP service or entry host) of {@code prefixes} matching its
   * addresses ({@code prefix_ranges}: an address as /32, a CIDR range with host bits masked) to the host's cluster;
   * its {@code tcp} rules' subnets count only within those addresses ({@link #tcpChains}).
   */
  static Listener withPrefixChains(Listener listener, PolicySet state, ClusterNames names, int port,
      java.util.Map<String, List<String>> prefixes) {
    if (prefixes.isEmpty()) {
      return listener;
    }
    Listener.Builder l = listener.toBuilder().clearFilterChains();
    Set<Cidr> taken = new HashSet<>(); // one set for the listener: Envoy refuses a prefix in two of its chains
    prefixes.forEach((host, addresses) -> l.addAllFilterChains(tcpChains(state, names, port, host,
        addresses.stream().map(Cidr::parse).distinct().toList(), taken)));
    return l.addAllFilterChains(listener.getFilterChainsList()).build();
  }

  /**
   * {@code 0.0.0.0_<port>} for the TLS services or ServiceEntry hosts {@code hosts} (name order) sharing it: a chain
   * per {@code tls} rule of theirs by its SNI hosts, then a chain per host matching {@code ownNames} of it (a
   * service's {@link MeshNames#names}, an entry host itself), then the passthrough chain.
   */
  static Listener tls(PolicySet state, ClusterNames names, int port, List<String> hosts,
      Function<String, List<String>> ownNames) {
    Listener.Builder l = unbound(port).addListenerFilters(MeshMtls.tlsInspector());
    Set<String> taken = new HashSet<>(); // Envoy refuses two chains with the same match: "<subnet or ''> <name>"
    for (String host : hosts) {
      for (Policy.StreamRule rule : rules(state, host, Policy.Protocol.TLS, port)) {
        List<String> sni = rule.sniHosts().stream()
            .filter(h -> matchKeys(rule.destinationSubnets(), h).stream().noneMatch(taken::contains)).toList();
        sni.forEach(h -> taken.addAll(matchKeys(rule.destinationSubnets(), h)));
        if (!sni.isEmpty()) {
          l.addFilterChains(sniChain(state, port, sni, rule.destinationSubnets(), host, rule.backends(), names));
        }
      }
    }
    for (String host : hosts) {
      List<String> own = new ArrayList<>();
      for (String h : ownNames.apply(host)) {
        if (taken.add(" " + h)) {
          own.add(h);
        }
      }
      if (!own.isEmpty()) {
        l.addFilterChains(sniChain(state, port, own, List.of(), host, List.of(), names));
      }
    }
    return l.addFilterChains(CapturedListeners.passthroughChain()).build();
  }

  private static FilterChain sniChain(PolicySet state, int port, List<String> sni, List<String> subnets, String host,
      List<Policy.Backend> backends, ClusterNames names) {
    String prefix = statPrefix(port, host);
    String name = prefix + "|" + sni.getFirst() + (subnets.isEmpty() ? "" : "|" + String.join(",", subnets));
    return FilterChain.newBuilder().setName(name)
        .setFilterChainMatch(subnets(FilterChainMatch.newBuilder().addAllServerNames(sni), subnets))
        .addFilters(tcpProxy(state, prefix, backends, host, names))
        .build();
  }

  private static Listener.Builder unbound(int port) {
    return Listener.newBuilder()
        .setName(CapturedListeners.portListenerName(port))
        .setAddress(MeshTranslator.address("0.0.0.0", port))
        .setBindToPort(BoolValue.of(false));
  }

  /** Istio's {@code outbound|<port>||<host>}. */
  private static String statPrefix(int port, String host) {
    return ClusterNames.serviceEntryCluster(port, null, host);
  }

  /**
   * tcp_proxy to {@code backends} (one: its cluster; several: weighted_clusters), or to {@code host}'s cluster when
   * none; clusters named by {@code names} (a registry service's {@code NAME|SUBSET}, an entry host's per port).
   */
  static Filter tcpProxy(PolicySet state, String statPrefix, List<Policy.Backend> backends, String host,
      ClusterNames names) {
    TcpProxy.Builder tp = TcpProxy.newBuilder().setStatPrefix(statPrefix);
    StreamDestinations.apply(tp, state, !backends.isEmpty() ? backends
        : host == null ? List.of() : List.of(new Policy.Backend(host, null, 0, 1)), names);
    if (backends.isEmpty()) {
      tp.setCluster(names.of(host, null, 0));
    } else if (backends.size() == 1) {
      tp.setCluster(names.of(backends.getFirst()));
    } else {
      TcpProxy.WeightedCluster.Builder wc = TcpProxy.WeightedCluster.newBuilder();
      for (Policy.Backend b : backends) {
        if (b.weight() > 0) {
          wc.addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder().setName(names.of(b)).setWeight(b.weight()));
        }
      }
      tp.setWeightedClusters(wc);
    }
    return Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(tp.build())).build();
  }

  /** The {@code protocol} rules of {@code host}'s routes that apply to {@code port} on sidecars, in order. */
  private static List<Policy.StreamRule> rules(PolicySet state, String host, Policy.Protocol protocol, int port) {
    List<Policy.StreamRule> out = new ArrayList<>();
    for (Policy.Routes r : MeshTranslator.routesOf(state, host)) {
      for (Policy.StreamRule rule : r.streams()) {
        if (applies(rule, protocol, port)) {
          out.add(rule);
        }
      }
    }
    return out;
  }

  private static boolean applies(Policy.StreamRule rule, Policy.Protocol protocol, int port) {
    return rule.protocol() == protocol && (rule.port() == null || rule.port() == port)
        && rule.appliesOn(Policy.Routes.MESH);
  }
}
