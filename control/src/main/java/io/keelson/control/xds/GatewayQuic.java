package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Http3ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UdpSocketConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.QuicProtocolOptions;
import io.envoyproxy.envoy.config.listener.v3.UdpListenerConfig;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * istiod's HTTP/3 mirror of a gateway's HTTPS port ({@code PILOT_ENABLE_QUIC_LISTENERS}): for the servers of
 * {@code protocol: HTTPS} that terminate TLS, a UDP listener {@code udp_<address>_<port>} on the same port with
 * {@code udp_listener_config.quic_options}, one chain per server as its TCP chain (same {@code server_names}, the
 * same DownstreamTlsContext with ALPN {@code h3} inside {@code envoy.transport_sockets.quic}, the same connection
 * manager with {@code codec_type: HTTP3} and the same {@code https.<port>...} RDS), and {@code alt-svc:
 * h3=":<port>"; ma=86400} added to the responses of those servers' routes, as istiod advertises it. Keelson's QUIC
 * listeners check client certificates only on a listener of one chain, so on a port with several such servers those
 * requiring one (MUTUAL, ISTIO_MUTUAL) stay TCP only. Stateless.
 */
final class GatewayQuic {
  static final String QUIC_SOCKET = "envoy.transport_sockets.quic";

  private GatewayQuic() {}

  /** One HTTPS server's TCP chain and its route config name. */
  record Server(FilterChain tcpChain, String routeName) {}

  /** The UDP listener (null: no server to mirror) and the route configs whose responses advertise it. */
  record Mirror(Listener listener, Set<String> advertisedRoutes) {
    static final Mirror NONE = new Mirror(null, Set.of());
  }

  static Mirror of(String address, int port, List<Server> servers) {
    List<Server> mirrored = servers.size() == 1 ? servers
        : servers.stream().filter(s -> !requiresClientCertificate(s.tcpChain())).toList();
    if (mirrored.isEmpty()) {
      return Mirror.NONE;
    }
    Listener.Builder l = Listener.newBuilder().setName("udp_" + address + "_" + port)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setProtocol(SocketAddress.Protocol.UDP)
            .setAddress(address).setPortValue(port)))
        .setUdpListenerConfig(UdpListenerConfig.newBuilder().setQuicOptions(QuicProtocolOptions.getDefaultInstance())
            .setDownstreamSocketConfig(UdpSocketConfig.getDefaultInstance()));
    Set<String> routes = new LinkedHashSet<>();
    for (Server s : mirrored) {
      FilterChain.Builder chain = s.tcpChain().toBuilder().setTransportSocket(quicSocket(s.tcpChain().getTransportSocket()))
          .clearFilters();
      for (Filter f : s.tcpChain().getFiltersList()) {
        chain.addFilters(http3(f));
      }
      l.addFilterChains(chain);
      routes.add(s.routeName());
    }
    return new Mirror(l.build(), routes);
  }

  /** {@code rc} with istiod's {@code alt-svc} on every route: HTTP/3 is served on UDP {@code port} too. */
  static RouteConfiguration advertised(RouteConfiguration rc, int port) {
    HeaderValueOption altSvc = HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey("alt-svc")
        .setValue("h3=\":" + port + "\"; ma=86400")).build();
    RouteConfiguration.Builder b = rc.toBuilder();
    b.getVirtualHostsBuilderList().forEach(vh -> vh.getRoutesBuilderList().forEach(r -> r.addResponseHeadersToAdd(altSvc)));
    return b.build();
  }

  private static boolean requiresClientCertificate(FilterChain chain) {
    return tlsContext(chain.getTransportSocket()).getRequireClientCertificate().getValue();
  }

  private static TransportSocket quicSocket(TransportSocket tls) {
    DownstreamTlsContext.Builder d = tlsContext(tls).toBuilder();
    d.getCommonTlsContextBuilder().clearAlpnProtocols().addAlpnProtocols("h3");
    return TransportSocket.newBuilder().setName(QUIC_SOCKET).setTypedConfig(Any.pack(
        QuicDownstreamTransport.newBuilder().setDownstreamTlsContext(d).build())).build();
  }

  private static Filter http3(Filter f) {
    try {
      HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class).toBuilder()
          .setCodecType(HttpConnectionManager.CodecType.HTTP3)
          .setHttp3ProtocolOptions(Http3ProtocolOptions.getDefaultInstance()).build();
      return f.toBuilder().setTypedConfig(Any.pack(hcm)).build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a gateway HTTPS chain's filter is not a connection manager: " + f.getName(), e);
    }
  }

  private static DownstreamTlsContext tlsContext(TransportSocket tls) {
    try {
      return tls.getTypedConfig().unpack(DownstreamTlsContext.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a gateway HTTPS chain's transport socket is not TLS: " + tls.getName(), e);
    }
  }
}
