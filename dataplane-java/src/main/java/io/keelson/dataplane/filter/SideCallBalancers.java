package io.keelson.dataplane.filter;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.routing.BalanceStage;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Per-event-loop balancers for filters' side calls (ext_authz checks, rate limit service calls), built as the
 * router's ({@link BalanceStage#servingBalancer}: the cluster's lb_policy, slow start, endpoints taken out by health checking or outlier detection skipped); a new
 * snapshot starts fresh ones, as the balance stage does. The event loop is each balancer's single writer.
 */
public final class SideCallBalancers {
  private static final FastThreadLocal<SideCallBalancers> LOCAL = new FastThreadLocal<>() {
    @Override
    protected SideCallBalancers initialValue() {
      return new SideCallBalancers();
    }
  };

  private final Map<ServingCluster, LoadBalancer> balancers = new IdentityHashMap<>();
  private final SplittableRandom seeds = new SplittableRandom();
  private ServingSnapshot current;

  private SideCallBalancers() {}

  /** The calling event loop's balancer for {@code cluster} of {@code snapshot}. */
  public static LoadBalancer forCluster(ServingSnapshot snapshot, ServingCluster cluster) {
    SideCallBalancers b = LOCAL.get();
    if (b.current != snapshot) {
      b.balancers.clear();
      b.current = snapshot;
    }
    LoadBalancer lb = b.balancers.get(cluster);
    if (lb == null) {
      lb = BalanceStage.servingBalancer(cluster, b.seeds);
      b.balancers.put(cluster, lb);
    }
    return lb;
  }
}
