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

  private final Map<ServingCluster, LoadBalancer> serving = new IdentityHashMap<>();
  private final SplittableRandom seeds = new SplittableRandom();
  private ServingSnapshot current;

  /**
   * The router's balancer for {@code cluster} on this event loop ({@link io.keelson.dataplane.routing.BalanceStage#servingBalancer}:
   * slow start, and skipping hosts that active health checking or outlier detection took out), for tcp_proxy connections
   * and udp_proxy sessions, as Envoy's cluster load balancer serves both.
   */
  public static LoadBalancer servingForCluster(ServingSnapshot snapshot, ServingCluster cluster) {
    TcpBalancers b = of(snapshot);
    return b.serving.computeIfAbsent(cluster,
        c -> io.keelson.dataplane.routing.BalanceStage.servingBalancer(c, b.seeds));
  }

  private static TcpBalancers of(ServingSnapshot snapshot) {
    TcpBalancers b = LOCAL.get();
    if (b.current != snapshot) {
      b.serving.clear();
      b.current = snapshot;
    }
    return b;
  }
}
