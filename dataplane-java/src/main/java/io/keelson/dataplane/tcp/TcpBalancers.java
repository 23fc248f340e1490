package io.keelson.dataplane.tcp;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Per-event-loop balancers for tcp_proxy connections (the event loop is their single writer); a new
 * snapshot starts fresh ones, as the L7 balance stage does; udp_proxy sessions use them too. Thread-safe through
 * confinement.
 */
public final class TcpBalancers {
  private static final FastThreadLocal<TcpBalancers> LOCAL = new FastThreadLocal<>() {
    @Override
    protected TcpBalancers initialValue() {
      return new TcpBalancers();
    }
  };

  private final Map<ServingCluster, LoadBalancer> balancers = new IdentityHashMap<>();
  private final SplittableRandom seeds = new SplittableRandom();
  private ServingSnapshot current;

  public static LoadBalancer forCluster(ServingSnapshot snapshot, ServingCluster cluster) {
    TcpBalancers b = LOCAL.get();
    if (b.current != snapshot) {
      b.balancers.clear();
      b.current = snapshot;
    }
    return b.balancers.computeIfAbsent(cluster, c -> LoadBalancer.create(c.config(), b.seeds.split()));
  }
}
