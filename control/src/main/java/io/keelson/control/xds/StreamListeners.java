package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A captured sidecar's outbound {@code 0.0.0.0_<port>} listener for a TCP or TLS service port, in istiod's shape
 * (not bound; virtualOutbound hands it the connections to that port):
 * <ul>
 *   <li>TCP: one chain, {@code envoy.filters.network.tcp_proxy} to the service's cluster, or to the weighted clusters
 *       of the first VirtualService {@code tcp} rule / TCPRoute that applies to the port;
 *   <li>TLS: the TLS inspector, then a chain per {@code tls} rule / TLSRoute matching its SNI hosts
 *       ({@code filter_chain_match.server_names}) to its clusters, a chain for each service's own names
 *       ({@link MeshNames#names}: {@code svc}, {@code svc.default}, {@code svc.default.svc},
 *       {@code svc.default.svc.cluster.local}) to its cluster, and a last chain without SNI match to {@value CapturedListeners#PASSTHROUGH} (ALLOW_ANY).
 * </ul>
 * The clusters are the service's own (EDS, with the mesh mTLS transport socket when its workloads have
 * identities), so the app's bytes, TLS or not, cross the network inside mesh mTLS. Stateless.
 */
final class StreamListeners {
  private StreamListeners() {}

  /** {@code 0.0.0.0_<port>} for TCP service {@code svc}. */
  static Listener tcp(PolicySet state, int port, Policy.Service svc) {
    List<Policy.Backend> backends = backends(state, svc.name(), Policy.Protocol.TCP, port);
    return unbound(port)
        .addFilterChains(FilterChain.newBuilder().setName(statPrefix(port, svc.name()))
            .addFilters(tcpProxy(statPrefix(port, svc.name()), backends, svc.name())))
        .build();
  }

  /**
   * {@code 0.0.0.0_<port>} for several TCP services sharing the port, told apart by destination address: each
   * service's chain (as {@link #tcp}) matches its VIP ({@code filter_chain_match.prefix_ranges} VIP/32, istiod's
   * {@code <VIP>_<port>} in one listener), and a connection to any other address of the port goes where the app sent
   * it ({@value CapturedListeners#PASSTHROUGH_CHAIN}, ALLOW_ANY).
   */
  static Listener tcpByAddress(PolicySet state, int port, List<Policy.Service> services, java.util.Map<String, String> vips) {
    Listener passthrough = unbound(port).addFilterChains(FilterChain.newBuilder().setName(CapturedListeners.PASSTHROUGH_CHAIN)
            .addAllFilters(MeshMtls.tcpTo(CapturedListeners.PASSTHROUGH, CapturedListeners.PASSTHROUGH, List.of())))
        .build();
    return withVipChains(passthrough, state, port, services, vips);
  }

  /**
   * {@code listener} (a port listener whose chains match no address) with, first, a chain per TCP service in
   * {@code services} matching its VIP ({@code prefix_ranges} VIP/32): a connection to a TCP service's VIP is that
   * service's, any other keeps going to the listener's own chains (an HTTP port's Host routing, or the passthrough).
   */
  static Listener withVipChains(Listener listener, PolicySet state, int port, List<Policy.Service> services,
      java.util.Map<String, String> vips) {
    if (services.isEmpty()) {
      return listener;
    }
    Listener.Builder l = listener.toBuilder().clearFilterChains();
    for (Policy.Service svc : services) {
      FilterChain chain = tcp(state, port, svc).getFilterChains(0);
      l.addFilterChains(chain.toBuilder().setFilterChainMatch(FilterChainMatch.newBuilder()
          .addPrefixRanges(io.envoyproxy.envoy.config.core.v3.CidrRange.newBuilder()
              .setAddressPrefix(vips.get(svc.name())).setPrefixLen(com.google.protobuf.UInt32Value.of(32)))));
    }
    return l.addAllFilterChains(listener.getFilterChainsList()).build();
  }

  /** {@code 0.0.0.0_<port>} for the TLS services {@code services} (name order) sharing it. */
  static Listener tls(PolicySet state, int port, List<Policy.Service> services) {
    Listener.Builder l = unbound(port).addListenerFilters(MeshMtls.tlsInspector());
    Set<String> taken = new HashSet<>(); // Envoy refuses two chains with the same match
    for (Policy.Service svc : services) {
      for (Policy.Routes r : MeshTranslator.routesOf(state, svc.name())) {
        for (Policy.StreamRule rule : r.streams()) {
          if (!applies(rule, Policy.Protocol.TLS, port)) {
            continue;
          }
          List<String> sni = rule.sniHosts().stream().filter(taken::add).toList();
          if (!sni.isEmpty()) {
            l.addFilterChains(sniChain(port, sni, svc.name(), rule.backends()));
          }
        }
      }
    }
    for (Policy.Service svc : services) {
      List<String> own = new ArrayList<>();
      for (String h : MeshNames.names(svc.name())) { // every name an app can dial it by (MeshNames' DNS table)
        if (taken.add(h)) {
          own.add(h);
        }
      }
      if (!own.isEmpty()) {
        l.addFilterChains(sniChain(port, own, svc.name(), List.of()));
      }
    }
    return l.addFilterChains(FilterChain.newBuilder().setName(CapturedListeners.PASSTHROUGH_CHAIN)
            .addAllFilters(MeshMtls.tcpTo(CapturedListeners.PASSTHROUGH, CapturedListeners.PASSTHROUGH, List.of())))
        .build();
  }

  private static FilterChain sniChain(int port, List<String> sni, String service, List<Policy.Backend> backends) {
    String prefix = statPrefix(port, service);
    return FilterChain.newBuilder().setName(prefix + "|" + sni.getFirst())
        .setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(sni))
        .addFilters(tcpProxy(prefix, backends, service))
        .build();
  }

  private static Listener.Builder unbound(int port) {
    return Listener.newBuilder()
        .setName(CapturedListeners.portListenerName(port))
        .setAddress(MeshTranslator.address("0.0.0.0", port))
        .setBindToPort(BoolValue.of(false));
  }

  /** Istio's {@code outbound|<port>||<host>}. */
  private static String statPrefix(int port, String service) {
    return "outbound|" + port + "||" + service;
  }

  /** tcp_proxy to {@code backends} (one: its cluster; several: weighted_clusters), or to {@code service} when none. */
  private static Filter tcpProxy(String statPrefix, List<Policy.Backend> backends, String service) {
    TcpProxy.Builder tp = TcpProxy.newBuilder().setStatPrefix(statPrefix);
    if (backends.isEmpty()) {
      tp.setCluster(service);
    } else if (backends.size() == 1) {
      tp.setCluster(MeshTranslator.subsetCluster(backends.getFirst().service(), backends.getFirst().subset()));
    } else {
      TcpProxy.WeightedCluster.Builder wc = TcpProxy.WeightedCluster.newBuilder();
      for (Policy.Backend b : backends) {
        if (b.weight() > 0) {
          wc.addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder()
              .setName(MeshTranslator.subsetCluster(b.service(), b.subset())).setWeight(b.weight()));
        }
      }
      tp.setWeightedClusters(wc);
    }
    return Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(tp.build())).build();
  }

  /** The backends of the first {@code protocol} rule of {@code service}'s routes for {@code port}, or none. */
  private static List<Policy.Backend> backends(PolicySet state, String service, Policy.Protocol protocol, int port) {
    for (Policy.Routes r : MeshTranslator.routesOf(state, service)) {
      for (Policy.StreamRule rule : r.streams()) {
        if (applies(rule, protocol, port)) {
          return rule.backends();
        }
      }
    }
    return List.of();
  }

  private static boolean applies(Policy.StreamRule rule, Policy.Protocol protocol, int port) {
    return rule.protocol() == protocol && (rule.port() == null || rule.port() == port);
  }
}
