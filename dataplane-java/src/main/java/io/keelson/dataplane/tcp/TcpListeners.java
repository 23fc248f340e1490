package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.TcpProxyConfig;
import java.net.InetAddress;

/** Which tcp_proxy listeners the socket proxy serves. Stateless. */
public final class TcpListeners {
  private TcpListeners() {}

  /**
   * True when the listener's tcp_proxy chains are served by the socket proxy: every tcp_proxy listener but a VIP of the
   * DPDK gateway ({@link #isDpdkVip}). A hashing cluster (MAGLEV, RING_HASH) without a hash_policy picks an endpoint
   * at random on the socket path, as Envoy's tcp_proxy does with no hash key; with hash_policy source_ip (Istio's
   * {@code consistentHash.useSourceIp}) it hashes the downstream's address ({@link TcpProxyHandler}).
   */
  public static boolean runsOnSocketPath(ListenerConfig listener, ProxySnapshot snapshot) {
    if (listener.tcpProxy() == null && listener.sniChains().isEmpty()) {
      return false;
    }
    return !isDpdkVip(listener, snapshot);
  }

  /**
   * A VIP of the DPDK gateway, the listeners the gateway reads from the same bootstrap (one node can run both;
   * {@code packet/SnapshotVips}): a {@link #mayBeDpdkVip VIP-shaped} listener whose tcp_proxy names one cluster that
   * balances with MAGLEV.
   */
  public static boolean isDpdkVip(ListenerConfig listener, ProxySnapshot snapshot) {
    if (!mayBeDpdkVip(listener, snapshot)) {
      return false;
    }
    String name = listener.tcpProxy().cluster();
    ClusterConfig c = name == null ? null : snapshot.cluster(name);
    return c != null && c.lbPolicy() == LbPolicy.MAGLEV;
  }

  /**
   * The shape of a gateway VIP, whatever its cluster's policy: a plain tcp_proxy listener (no TLS, SNI chains,
   * interception, hash_policy, tunneling, nor PROXY protocol: neither the proxy_protocol listener filter nor a cluster
   * with the upstream PROXY protocol socket, as the packet path neither reads nor writes the header; nor
   * local_ratelimit / connection_limit network filters, which only the socket path runs) at a specific
   * address, neither a wildcard nor loopback. Every other tcp_proxy listener (those from the control plane are on
   * wildcard or captured addresses) is the socket proxy's, and the gateway leaves it alone; a VIP-shaped one the
   * gateway cannot run (weighted clusters, not MAGLEV) is refused by the gateway.
   */
  public static boolean mayBeDpdkVip(ListenerConfig listener, ProxySnapshot snapshot) {
    TcpProxyConfig p = listener.tcpProxy();
    return p != null && listener.sniChains().isEmpty() && listener.tls() == null && !listener.originalDst()
        && !listener.useOriginalDst() && !p.hashSourceIp() && p.tunneling() == null && p.gates().isEmpty() && listener.proxyProtocol() == null
        && !sendsProxyProtocol(p, snapshot) && specificAddress(listener.host());
  }

  private static boolean sendsProxyProtocol(TcpProxyConfig p, ProxySnapshot snapshot) {
    ClusterConfig c = p.cluster() == null ? null : snapshot.cluster(p.cluster());
    return c != null && c.proxyProtocolVersion() != 0;
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
