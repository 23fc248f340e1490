package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.keelson.control.policy.ListenerRoutes;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.Comparator;
import java.util.List;

/**
 * A gateway port whose {@code protocol: TLS} server terminates ({@code tls.mode} SIMPLE, MUTUAL or ISTIO_MUTUAL), istiod's way: one
 * filter chain that ends the client's TLS with the server's credential (over SDS or inline, as for HTTPS, without
 * ALPN: the bytes are not HTTP) and relays the plaintext with tcp_proxy to the first {@code tcp} route of a
 * VirtualService bound to that server. One terminating server per port (the first, by Gateway and server index): the
 * data plane terminates TLS on a single-chain tcp_proxy listener, not on SNI-selected ones. Stateless.
 */
final class TerminatedTlsListener {
  private TerminatedTlsListener() {}

  /** True when a TLS server of the port terminates. */
  static boolean terminates(List<GatewayTranslator.Bound> servers) {
    return servers.stream().anyMatch(TerminatedTlsListener::terminating);
  }

  private static boolean terminating(GatewayTranslator.Bound b) {
    Policy.ServerTls tls = b.server().tls();
    return b.server().protocol().equals("TLS") && tls != null && tls.mode() != null && !tls.passthrough();
  }

  /**
   * The port's listener, or null when the server gets no transport socket ({@link GatewayTls#forServer}: the reason is
   * in the proxy's status) or no {@code tcp} route applies (nothing to listen for). Its chain has no
   * {@code server_names}: the data plane terminates TLS on a single-chain tcp_proxy listener only (SNI-selected
   * terminating tcp_proxy chains are refused there), so every SNI is terminated.
   */
  static Listener build(String address, int port, List<GatewayTranslator.Bound> servers, PolicySet state,
      ClusterNames names, String sdsNamespace, boolean identity) {
    GatewayTranslator.Bound b = servers.stream().filter(TerminatedTlsListener::terminating).findFirst().orElseThrow();
    GatewayTls.ServerSocket socket = GatewayTls.forServer(state, b.gateway(), b.server(), sdsNamespace, identity);
    if (socket.socket() == null) {
      return null;
    }
    String name = address + "_" + port;
    List<Policy.Routes> all = state.ofType(Policy.Routes.class).stream().sorted(Comparator.comparing(Policy::name))
        .toList();
    for (Policy.Routes r : all) {
      if (!ListenerRoutes.attaches(r, b.gateway(), b.server())) {
        continue;
      }
      for (Policy.StreamRule rule : r.streams()) {
        if (rule.protocol() != Policy.Protocol.TCP || (rule.port() != null && rule.port() != port)) {
          continue;
        }
        String prefix = "outbound_" + name + "|" + r.name();
        return Listener.newBuilder().setName(name).setAddress(MeshTranslator.address(address, port))
            .addFilterChains(FilterChain.newBuilder().setName(b.gateway().ref() + "/" + b.server().index())
                .setTransportSocket(withoutAlpn(socket.socket()))
                .addFilters(StreamListeners.tcpProxy(prefix, rule.backends(), null, names)))
            .build();
      }
    }
    return null;
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
