package io.keelson.control.api;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.keelson.control.xds.MeshResources;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * "Where would this connection go?" at a gateway's TLS or TCP port: the port's listener, the filter chain the data
 * plane picks for the client's SNI (an exact {@code server_names} entry, else the longest {@code *.suffix}, else the
 * chain without names), whether that chain terminates TLS (its certificate) or passes it through, the network filters
 * ahead of its {@code tcp_proxy} and the cluster(s) it relays to. A chain holding an HTTP connection manager (an HTTPS
 * server beside TLS ones on one port) is left to {@link Explainer}'s HTTP explanation. Stateless.
 */
final class GatewayStreamExplainer {
  private static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

  private GatewayStreamExplainer() {}

  /** The TCP listener of {@code r} bound to {@code port} (not its HTTP/3 mirror over UDP), or null. */
  static Listener listener(MeshResources r, int port) {
    return r.listeners().stream().filter(l -> l.getAddress().getSocketAddress().getPortValue() == port
            && !l.hasUdpListenerConfig()).findFirst()
        .orElse(null);
  }

  /**
   * The chain of {@code l} a client naming {@code sni} reaches when it is a {@code tcp_proxy} one, else null (no chain,
   * or an HTTP connection manager's).
   */
  static FilterChain streamChain(Listener l, String sni) {
    FilterChain chain = chainFor(l, sni);
    return chain != null && isTcpProxy(chain) ? chain : null;
  }

  /** The explanation of a connection to {@code port} of gateway {@code node} with SNI {@code sni} (null: none). */
  static Map<String, Object> explain(MeshResources r, String node, int port, Listener l, String sni) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("from", node);
    out.put("host", sni);
    out.put("path", "");
    List<String> why = new ArrayList<>();
    out.put("why", why);
    boolean inspectsSni = l.getFilterChainsList().stream().anyMatch(c -> c.getFilterChainMatch().getServerNamesCount() > 0);
    why.add("gateway '" + node + "' port " + port + " is listener '" + l.getName() + "' with " + l.getFilterChainsCount()
        + " filter chain(s)" + (inspectsSni ? ", chosen by the TLS ClientHello's SNI ('" + sni + "')"
            : " (a TCP port: no SNI is read, the host is not seen)"));
    FilterChain chain = chainFor(l, sni);
    if (chain == null) {
      why.add("no chain serves SNI '" + sni + "': the chains' server names are " + l.getFilterChainsList().stream()
          .flatMap(c -> c.getFilterChainMatch().getServerNamesList().stream()).toList());
      out.put("result", "connection closed (no filter chain)");
      return out;
    }
    why.add("filter chain '" + chain.getName() + "' matches (" + (chain.getFilterChainMatch().getServerNamesCount() == 0
        ? "no server names: any connection" : "server names " + chain.getFilterChainMatch().getServerNamesList()) + ")");
    why.add(tls(chain));
    for (Filter f : chain.getFiltersList()) {
      if (!f.getName().equals(TCP_PROXY)) {
        why.add("network filter " + f.getName() + " runs first (e.g. the Gateway's authorization policies)");
      }
    }
    TcpProxy proxy = tcpProxy(chain);
    out.put("route", chain.getName());
    List<Map<String, Object>> clusters = new ArrayList<>();
    if (proxy.hasWeightedClusters()) {
      long total = proxy.getWeightedClusters().getClustersList().stream().mapToLong(c -> c.getWeight()).sum();
      for (var c : proxy.getWeightedClusters().getClustersList()) {
        clusters.add(Explainer.cluster(r, c.getName(), c.getWeight(), total));
      }
      why.add("weighted split: the proxy picks a cluster per connection in proportion to the weights");
    } else {
      clusters.add(Explainer.cluster(r, proxy.getCluster(), 1, 1));
    }
    out.put("clusters", clusters);
    out.put("result", "relayed (tcp_proxy)");
    return out;
  }

  private static String tls(FilterChain chain) {
    if (!chain.hasTransportSocket()) {
      return chain.getFilterChainMatch().getServerNamesCount() > 0 || !chain.getFilterChainMatch().getTransportProtocol()
          .isEmpty() ? "TLS passthrough: the client's TLS goes to the backend unopened"
              : "plain TCP: the bytes are relayed as they come";
    }
    try {
      var common = chain.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext();
      List<String> certs = new ArrayList<>();
      common.getTlsCertificateSdsSecretConfigsList().forEach(s -> certs.add(s.getName()));
      return "the gateway terminates TLS" + (certs.isEmpty() ? "" : " with certificate " + certs)
          + " and relays the plaintext";
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "the gateway terminates TLS and relays the plaintext";
    }
  }

  /** As the data plane picks: an exact server name, else the longest matching {@code *.suffix}, else no names. */
  private static FilterChain chainFor(Listener l, String sni) {
    String host = sni == null ? "" : sni.toLowerCase(Locale.ROOT);
    FilterChain best = null;
    int bestScore = -1;
    for (FilterChain c : l.getFilterChainsList()) {
      List<String> names = c.getFilterChainMatch().getServerNamesList();
      if (names.isEmpty() && bestScore < 0) {
        best = c;
        bestScore = 0;
      }
      for (String n : names) {
        String name = n.toLowerCase(Locale.ROOT);
        if (name.equals(host)) {
          return c;
        }
        if (name.startsWith("*.") && host.endsWith(name.substring(1)) && name.length() > bestScore) {
          best = c;
          bestScore = name.length();
        }
      }
    }
    return best;
  }

  private static boolean isTcpProxy(FilterChain c) {
    return c.getFiltersCount() > 0 && c.getFilters(c.getFiltersCount() - 1).getName().equals(TCP_PROXY);
  }

  private static TcpProxy tcpProxy(FilterChain c) {
    try {
      return c.getFilters(c.getFiltersCount() - 1).getTypedConfig().unpack(TcpProxy.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException("filter chain '" + c.getName() + "' holds a tcp_proxy that is not one", e);
    }
  }
}
