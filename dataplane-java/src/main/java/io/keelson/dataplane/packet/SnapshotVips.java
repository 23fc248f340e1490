package io.keelson.dataplane.packet;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.TcpProxyConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the gateway's VIPs out of a {@link ProxySnapshot}, in Envoy's terms: a listener whose
 * filter is {@code tcp_proxy} naming one cluster with {@code lb_policy: MAGLEV} is a TCP VIP at the
 * listener's address (IPv4 or IPv6) and port; the cluster's endpoints are its backends and their
 * {@code load_balancing_weight} the Maglev weights. HTTP listeners, and tcp_proxy listeners that are not
 * VIP-shaped ({@code tcp/TcpListeners.mayBeDpdkVip}: wildcard or loopback addresses, TLS, SNI chains, interception,
 * hash_policy, tunneling, PROXY protocol in or out), belong to the socket proxy and are skipped. Anything else the gateway cannot run fails
 * loudly, naming the listener and the field.
 *
 * <p>Threading: stateless.
 */
final class SnapshotVips {
  private SnapshotVips() {}

  /** The IPv4 VIPs (listeners whose address is an IPv6 literal are {@link #from6}'s). */
  static List<GatewayConfig.Vip> from(ProxySnapshot snapshot) {
    List<GatewayConfig.Vip> vips = new ArrayList<>();
    for (VipListener v : vipListeners(snapshot)) {
      if (isIpv6(v.listener.host())) {
        continue;
      }
      int vip = address(v.listener.host(), v.at + ": address.socket_address.address");
      List<GatewayConfig.Backend> backends = new ArrayList<>();
      for (int e = 0; e < v.cluster.endpoints().size(); e++) {
        EndpointConfig endpoint = v.cluster.endpoints().get(e);
        backends.add(new GatewayConfig.Backend(address(endpoint.host(), v.endpointField(e) + ": address"),
            endpoint.port(), endpoint.weight()));
      }
      vips.add(new GatewayConfig.Vip(v.listener.name(), vip, v.listener.port(), Ipv4.PROTO_TCP, backends));
    }
    return vips;
  }

  /** The IPv6 VIPs: listeners at an IPv6 literal; their cluster's endpoints must be IPv6 literals too (NAT66, no NAT64). */
  static List<Ipv6Config.Vip6> from6(ProxySnapshot snapshot) {
    List<Ipv6Config.Vip6> vips = new ArrayList<>();
    for (VipListener v : vipListeners(snapshot)) {
      if (!isIpv6(v.listener.host())) {
        continue;
      }
      Ipv6.Address vip = Ipv6.Address.parse(v.listener.host());
      List<Ipv6Config.Backend6> backends = new ArrayList<>();
      for (int e = 0; e < v.cluster.endpoints().size(); e++) {
        EndpointConfig endpoint = v.cluster.endpoints().get(e);
        Ipv6.Address ip;
        try {
          ip = Ipv6.Address.parse(endpoint.host());
        } catch (IllegalArgumentException ex) {
          throw new IllegalArgumentException(v.endpointField(e) + ": address: '" + endpoint.host() + "' is not an IPv6"
              + " literal, and " + v.at + " is an IPv6 VIP (the L4 gateway translates IPv6 to IPv6 only)", ex);
        }
        backends.add(new Ipv6Config.Backend6(ip, endpoint.port(), endpoint.weight()));
      }
      vips.add(new Ipv6Config.Vip6(v.listener.name(), vip, v.listener.port(), Ipv4.PROTO_TCP, backends));
    }
    return vips;
  }

  /** A VIP-shaped tcp_proxy listener and its MAGLEV cluster, with the listener's name for error messages. */
  private record VipListener(ListenerConfig listener, ClusterConfig cluster, String at) {
    String endpointField(int e) {
      return "cluster '" + cluster.name() + "' endpoint " + e + " (" + cluster.endpoints().get(e) + ")";
    }
  }

  private static List<VipListener> vipListeners(ProxySnapshot snapshot) {
    List<VipListener> found = new ArrayList<>();
    for (ListenerConfig listener : snapshot.listeners()) {
      TcpProxyConfig tcp = listener.tcpProxy();
      if (tcp == null || !io.keelson.dataplane.tcp.TcpListeners.mayBeDpdkVip(listener, snapshot)) {
        continue; // the socket proxy's (TLS, SNI chains, interception, hash_policy, tunneling, PROXY protocol, wildcard or loopback)
      }
      String at = "listener '" + listener.name() + "'";
      String clusterName = tcp.cluster();
      if (clusterName == null) {
        throw new IllegalArgumentException(at + ": tcp_proxy.weighted_clusters is not supported by the L4 gateway"
            + " (name one cluster with lb_policy: MAGLEV)");
      }
      ClusterConfig cluster = snapshot.cluster(clusterName);
      if (cluster == null) {
        throw new IllegalArgumentException(at + ": tcp_proxy.cluster '" + clusterName + "' is not defined");
      }
      if (cluster.lbPolicy() != LbPolicy.MAGLEV) {
        throw new IllegalArgumentException("cluster '" + clusterName + "' (used by " + at + "): lb_policy is "
            + cluster.lbPolicy() + "; the L4 gateway balances with MAGLEV only");
      }
      found.add(new VipListener(listener, cluster, at));
    }
    return found;
  }

  private static boolean isIpv6(String host) {
    return host != null && host.indexOf(':') >= 0;
  }

  private static int address(String host, String field) {
    try {
      return Ipv4.parse(host);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": '" + host + "' is not an IPv4 literal (the L4 gateway does not resolve names)", e);
    }
  }
}
