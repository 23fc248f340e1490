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
 * listener's address and port; the cluster's endpoints are its backends and their
 * {@code load_balancing_weight} the Maglev weights. HTTP listeners, and tcp_proxy listeners that are not
 * VIP-shaped ({@code tcp/TcpListeners.mayBeDpdkVip}: wildcard or loopback addresses, TLS, SNI chains, interception,
 * hash_policy, tunneling), belong to the socket proxy and are skipped. Anything else the gateway cannot run fails
 * loudly, naming the listener and the field.
 *
 * <p>Threading: stateless.
 */
final class SnapshotVips {
  private SnapshotVips() {}

  static List<GatewayConfig.Vip> from(ProxySnapshot snapshot) {
    List<GatewayConfig.Vip> vips = new ArrayList<>();
    for (ListenerConfig listener : snapshot.listeners()) {
      TcpProxyConfig tcp = listener.tcpProxy();
      if (tcp == null || !io.keelson.dataplane.tcp.TcpListeners.mayBeDpdkVip(listener)) {
        continue; // the socket proxy's (TLS, SNI chains, interception, hash_policy, tunneling, wildcard or loopback)
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
      int vip = address(listener.host(), at + ": address.socket_address.address");
      List<GatewayConfig.Backend> backends = new ArrayList<>();
      for (int e = 0; e < cluster.endpoints().size(); e++) {
        EndpointConfig endpoint = cluster.endpoints().get(e);
        String where = "cluster '" + clusterName + "' endpoint " + e + " (" + endpoint + ")";
        backends.add(new GatewayConfig.Backend(address(endpoint.host(), where + ": address"), endpoint.port(),
            endpoint.weight()));
      }
      vips.add(new GatewayConfig.Vip(listener.name(), vip, listener.port(), Ipv4.PROTO_TCP, backends));
    }
    return vips;
  }

  private static int address(String host, String field) {
    try {
      return Ipv4.parse(host);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": '" + host + "' is not an IPv4 literal (the L4 gateway does not resolve names)", e);
    }
  }
}
