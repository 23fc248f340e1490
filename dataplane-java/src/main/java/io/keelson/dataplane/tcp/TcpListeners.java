package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.SniChain;
import io.keelson.dataplane.config.TcpProxyConfig;
import java.util.ArrayList;
import java.util.List;

/** Which tcp_proxy listeners the socket proxy serves. Stateless. */
public final class TcpListeners {
  private TcpListeners() {}

  /**
   * True when every cluster the listener's tcp_proxy chains name can be balanced on the socket path; a listener using
   * MAGLEV or RING_HASH without a hash_policy is a VIP of the DPDK gateway and is not bound here. With hash_policy
   * source_ip (Istio's {@code consistentHash.useSourceIp} for a TCP destination) the socket path hashes the
   * downstream's address itself ({@link TcpProxyHandler}).
   */
  public static boolean runsOnSocketPath(ListenerConfig listener, ProxySnapshot snapshot) {
    List<TcpProxyConfig> proxies = new ArrayList<>();
    if (listener.tcpProxy() != null) {
      proxies.add(listener.tcpProxy());
    }
    for (SniChain c : listener.sniChains()) {
      proxies.add(c.tcpProxy());
    }
    for (TcpProxyConfig p : proxies) {
      for (RouteAction.WeightedCluster wc : p.clusters()) {
        ClusterConfig c = snapshot.cluster(wc.name());
        if (c != null && c.lbPolicy().hashes() && !p.hashSourceIp()) { // unhashed MAGLEV/RING_HASH: a DPDK gateway VIP
          return false;
        }
      }
    }
    return !proxies.isEmpty();
  }
}
