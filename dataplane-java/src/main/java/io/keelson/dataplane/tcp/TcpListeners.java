package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.TcpProxyConfig;
import java.net.InetAddress;

/** Which tcp_proxy listeners the socket proxy serves. Stateless. */
public final class TcpListeners {
  private TcpListeners() {}

  /**
   * True when the listener's tcp_proxy chains are served by the socket proxy: every tcp_proxy listener but a VIP of the
   * DPDK gateway (see {@link #isDpdkVip}). A hashing cluster (MAGLEV, RING_HASH) without a hash_policy picks an
   * endpoint at random on the socket path, as Envoy's tcp_proxy does with no hash key; with hash_policy source_ip
   * (Istio's {@code consistentHash.useSourceIp}) it hashes the downstream's address ({@link TcpProxyHandler}).
   */
  public static boolean runsOnSocketPath(ListenerConfig listener, ProxySnapshot snapshot) {
    if (listener.tcpProxy() == null && listener.sniChains().isEmpty()) {
      return false;
    }
    return !isDpdkVip(listener, snapshot);
  }

  /**
   * A VIP of the DPDK gateway, in the shape the gateway reads from the same bootstrap (one node can run both): a plain
   * tcp_proxy listener (no TLS, SNI chains or interception) at a specific address that is neither a wildcard nor
   * loopback, naming clusters that balance with MAGLEV or RING_HASH and no hash_policy. Listeners from the control
   * plane (wildcard or captured addresses) never are.
   */
  static boolean isDpdkVip(ListenerConfig listener, ProxySnapshot snapshot) {
    TcpProxyConfig p = listener.tcpProxy();
    if (p == null || !listener.sniChains().isEmpty() || listener.tls() != null || listener.originalDst()
        || listener.useOriginalDst() || p.hashSourceIp() || p.tunneling() != null || !specificAddress(listener.host())) {
      return false;
    }
    for (RouteAction.WeightedCluster wc : p.clusters()) {
      ClusterConfig c = snapshot.cluster(wc.name());
      if (c == null || !c.lbPolicy().hashes()) {
        return false;
      }
    }
    return true;
  }

  private static boolean specificAddress(String host) {
    try {
      InetAddress a = InetAddress.ofLiteral(host);
      return !a.isAnyLocalAddress() && !a.isLoopbackAddress();
    } catch (IllegalArgumentException | NullPointerException e) {
      return true; // a name: not a wildcard (the gateway refuses names itself)
    }
  }
}
