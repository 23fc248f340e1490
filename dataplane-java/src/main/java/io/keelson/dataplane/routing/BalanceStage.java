package io.keelson.dataplane.routing;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.pipeline.Stage;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks the endpoint of the chosen cluster, then hands the decision back. Owns one balancer per cluster
 * of the current snapshot (its single writer); a new snapshot starts fresh balancers, since endpoints
 * and weights may have changed.
 */
public final class BalanceStage implements Stage<RoutingEvent> {
  private final Map<ServingCluster, LoadBalancer> balancers = new IdentityHashMap<>();
  private final SplittableRandom seeds = new SplittableRandom();
  private ServingSnapshot current;

  @Override
  public void onEvent(RoutingEvent event) {
    if (event.cluster != null) {
      if (event.snapshot != current) {
        balancers.clear();
        current = event.snapshot;
      }
      LoadBalancer lb = balancers.get(event.cluster);
      if (lb == null) {
        lb = event.cluster.resilience().balancer(LoadBalancer.create(event.cluster.config(), seeds.split()));
        balancers.put(event.cluster, lb);
      }
      event.balancer = lb;
      int picked = lb.pick();
      var predicate = event.hostPredicate;
      if (predicate != null) {
        for (int i = predicate.hostSelectionAttempts(); i > 0 && picked >= 0 && predicate.rejects(picked); i--) {
          picked = lb.pick();
        }
      }
      event.endpoint = picked;
    }
    RoutingCallback callback = event.callback;
    callback.onRouted(event);
    event.clearInputs();
  }
}
