package io.keelson.control.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.Policy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The clusters a proxy's routes and tcp_proxies name that its translation does not define: destinations its view left
 * out (a service not exported to its namespace, or out of its Sidecar's scope) that a route it does see still sends
 * to. istiod sends such routes and Envoy answers them 503 (no cluster); Keelson's data plane refuses a reference to an
 * undefined cluster, which would reject the proxy's whole configuration, so each is defined here empty (an EDS cluster
 * with no endpoints: 503, no healthy upstream; a TCP connection closed). Stateless.
 */
final class UndefinedClusters {
  private static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

  private UndefinedClusters() {}

  /** {@code r} with an empty cluster (and assignment) for each cluster it names but lacks; {@code r} when none. */
  static MeshResources defined(MeshResources r, boolean istioDefaults) {
    Set<String> named = new TreeSet<>();
    r.routes().forEach(rc -> named(rc, named));
    r.listeners().forEach(l -> named(l, named));
    Set<String> defined = new HashSet<>();
    r.clusters().forEach(c -> defined.add(c.getName()));
    named.removeAll(defined);
    if (named.isEmpty()) {
      return r;
    }
    List<Cluster> clusters = new ArrayList<>(r.clusters());
    List<ClusterLoadAssignment> endpoints = new ArrayList<>(r.endpoints());
    for (String name : named) {
      clusters.add(MeshTranslator.cluster(name, Policy.Balancing.DEFAULT, null, false, istioDefaults));
      endpoints.add(ClusterLoadAssignment.newBuilder().setClusterName(name).build());
    }
    return r.withMoreClusters(clusters, endpoints, String.join(",", named));
  }

  private static void named(RouteConfiguration rc, Set<String> out) {
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      for (Route route : vh.getRoutesList()) {
        if (route.hasRoute()) {
          named(route.getRoute(), out);
        }
      }
    }
  }

  private static void named(RouteAction a, Set<String> out) {
    if (!a.getCluster().isEmpty()) {
      out.add(a.getCluster());
    }
    for (WeightedCluster.ClusterWeight w : a.getWeightedClusters().getClustersList()) {
      out.add(w.getName());
    }
    a.getRequestMirrorPoliciesList().forEach(m -> out.add(m.getCluster()));
  }

  private static void named(Listener l, Set<String> out) {
    l.getFilterChainsList().forEach(c -> named(c, out));
    if (l.hasDefaultFilterChain()) {
      named(l.getDefaultFilterChain(), out);
    }
  }

  private static void named(FilterChain c, Set<String> out) {
    for (Filter f : c.getFiltersList()) {
      if (!f.getName().equals(TCP_PROXY) || !f.hasTypedConfig()) {
        continue;
      }
      try {
        TcpProxy tp = f.getTypedConfig().unpack(TcpProxy.class);
        if (!tp.getCluster().isEmpty()) {
          out.add(tp.getCluster());
        }
        tp.getWeightedClusters().getClustersList().forEach(w -> out.add(w.getName()));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("tcp_proxy of " + c.getName() + " does not unpack", e);
      }
    }
  }
}
