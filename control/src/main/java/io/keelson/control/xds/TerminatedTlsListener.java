package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A gateway port with {@code protocol: TLS} servers that terminate ({@code tls.mode} SIMPLE, MUTUAL or ISTIO_MUTUAL;
 * a Gateway API TLS listener with {@code mode: Terminate}), istiod's way: the TLS inspector, then per terminating
 * server (by Gateway and server index) one filter chain selected by {@code server_names} = the server's hosts, sorted
 * (none for a {@code *} host: every other name), that ends the client's TLS with the server's credential (over SDS or
 * inline, as for HTTPS, without ALPN: the bytes are not HTTP) and relays the plaintext with tcp_proxy to the first
 * {@code tcp} route (TCPRoute) bound to that server, or per attached TLSRoute rule to its backends by its hostnames
 * ({@link #addChains}, also used for a port whose HTTPS servers are there too); then the PASSTHROUGH servers' chains of the port
 * ({@link GatewayTranslator#addPassthroughChains}), for names no terminating chain took. Stateless.
 */
final class TerminatedTlsListener {
  private TerminatedTlsListener() {}

  /** True when a TLS server of the port terminates. */
  static boolean terminates(List<GatewayTranslator.Bound> servers) {
    return servers.stream().anyMatch(b -> b.server().terminatesTls());
  }

  /**
   * The port's listener, or null when no chain applies (nothing to listen for). A terminating server gets no chain
   * when it gets no transport socket ({@link GatewayTls#forServer}: the reason is in the proxy's status), no
   * {@code tcp} route applies to it, or an earlier chain took every one of its hosts (Envoy refuses two chains with
   * the same match; the store refuses such Gateways where it can tell).
   */
  static Listener build(String address, int port, List<GatewayTranslator.Bound> servers, PolicySet state,
      ClusterNames names, String sdsNamespace, boolean identity) {
    String name = address + "_" + port;
    Listener.Builder l = Listener.newBuilder().setName(name).setAddress(MeshTranslator.address(address, port))
        .addListenerFilters(MeshMtls.tlsInspector());
    Set<String> taken = new HashSet<>();
    addChains(l, name, port, servers, state, names, sdsNamespace, identity, taken);
    GatewayTranslator.addPassthroughChains(l, name, port, servers, state, names, taken);
    return l.getFilterChainsCount() == 0 ? null : l.build();
  }

  /**
   * The terminating servers' chains of the port, added to {@code l} (which may hold HTTPS chains already: their
   * names in {@code taken}, {@code *} for a chain without server_names); the names each chain takes are added to
   * {@code taken}. A server's chains: one for its first bound {@code tcp} route (TCPRoute), selected by its hosts; or,
   * a Gateway API listener with TLSRoutes attached, one per TLSRoute rule selected by its {@code hostnames} that the
   * listener's hostname covers (Istio's TLSRoute on a Terminate listener: the TLS is ended, the plaintext relayed to
   * the rule's backends).
   */
  static void addChains(Listener.Builder l, String name, int port, List<GatewayTranslator.Bound> servers,
      PolicySet state, ClusterNames names, String sdsNamespace, boolean identity, Set<String> taken) {
    List<Policy.Routes> all = state.ofType(Policy.Routes.class).stream().sorted(Comparator.comparing(Policy::name))
        .toList();
    for (GatewayTranslator.Bound b : servers) {
      if (!b.server().terminatesTls()) {
        continue;
      }
      GatewayTls.ServerSocket socket = GatewayTls.forServer(state, b.gateway(), b.server(), sdsNamespace, identity);
      if (socket.socket() == null) {
        continue;
      }
      TransportSocket tls = withoutAlpn(socket.socket());
      GatewayTcpRule rule = GatewayTcpRule.first(b, port, all, state);
      if (rule != null) {
        // istiod's GetSNIHostsForServer: the server's hosts, sorted; "*" is every name, a chain without server_names.
        List<String> sni = b.server().hosts().stream().sorted().toList();
        addChain(l, b.gateway().ref() + "/" + b.server().index(), sni, tls,
            "outbound_" + name + "|" + rule.route().name(), rule.rule(), state, names, taken);
      }
      for (Policy.Routes r : all) {
        if (!r.kind().equals("TLSRoute") || !io.keelson.control.policy.ListenerRoutes.attaches(r, b.gateway(), b.server(), state::namespaceLabels)) {
          continue;
        }
        for (Policy.StreamRule tlsRule : r.streams()) {
          if (tlsRule.protocol() != Policy.Protocol.TLS) {
            continue;
          }
          List<String> sni = StreamServerNames.of(tlsRule, false, b.server());
          String prefix = "outbound_" + name + "|" + r.name();
          addChain(l, b.gateway().ref() + "/" + b.server().index() + "|" + r.name(), sni, tls, prefix, tlsRule,
              state, names, taken);
        }
      }
    }
  }

  /** One terminating chain for the names of {@code sni} no earlier chain took; none when it took them all. */
  private static void addChain(Listener.Builder l, String chainName, List<String> sni, TransportSocket tls,
      String prefix, Policy.StreamRule rule, PolicySet state, ClusterNames names, Set<String> taken) {
    List<String> free = sni.stream().filter(h -> !taken.contains(h)).toList();
    if (free.isEmpty()) {
      return;
    }
    FilterChainMatch.Builder match = FilterChainMatch.newBuilder();
    if (free.contains("*")) {
      taken.add("*");
    } else {
      taken.addAll(free);
      match.addAllServerNames(free);
    }
    l.addFilterChains(FilterChain.newBuilder().setName(chainName).setFilterChainMatch(match).setTransportSocket(tls)
        .addFilters(StreamListeners.tcpProxy(state, prefix, rule.backends(), null, names)));
  }

  private static TransportSocket withoutAlpn(TransportSocket socket) {
    try {
      DownstreamTlsContext.Builder d = socket.getTypedConfig().unpack(DownstreamTlsContext.class).toBuilder();
      d.getCommonTlsContextBuilder().clearAlpnProtocols();
      return socket.toBuilder().setTypedConfig(Any.pack(d.build())).build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("GatewayTls built an unreadable DownstreamTlsContext", e);
    }
  }
}
