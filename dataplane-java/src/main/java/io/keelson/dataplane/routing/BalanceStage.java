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
    RuntimeException failed = null;
    if (event.failure == null) {
      try {
        pickEndpoint(event);
      } catch (RuntimeException e) {
        event.stageFailed(e); // the last stage: the callback must still hear about this event
        event.endpoint = -1;
        failed = e;
      }
    }
    RoutingCallback callback = event.callback;
    callback.onRouted(event);
    event.clearInputs();
    if (failed != null) {
      throw failed; // answered already; the pipeline logs it
    }
  }

  private void pickEndpoint(RoutingEvent event) {
    if (event.cluster != null && !event.policy.hasLocalReply()) {
      if (event.snapshot != current) {
        balancers.clear();
        current = event.snapshot;
      }
      LoadBalancer lb = balancers.get(event.cluster);
      if (lb == null) {
        lb = servingBalancer(event.cluster, seeds);
        balancers.put(event.cluster, lb);
      }
      event.balancer = lb;
      int picked = pick(lb, event);
      var predicate = event.hostPredicate;
      if (predicate != null) {
        for (int i = predicate.hostSelectionAttempts(); i > 0 && picked >= 0 && predicate.rejects(picked); i--) {
          picked = lb.pick();
        }
      }
      event.endpoint = picked;
    }
  }

  /**
   * The balancer the router uses for {@code cluster}: its lb_policy, slow start, and skipping endpoints that active
   * health checking or outlier detection took out (with the panic threshold). For one picking thread.
   */
  public static LoadBalancer servingBalancer(ServingCluster cluster, SplittableRandom seeds) {
    LoadBalancer lb = LoadBalancer.create(cluster.config(), seeds.split());
    if (cluster.endpointAddedAt() != null) {
      lb = new io.keelson.dataplane.balance.SlowStartBalancer(
          lb, cluster.endpointAddedAt(), cluster.config().lb().slowStart(), System::nanoTime, seeds.split());
    }
    // Active health checking shares the outlier detector's EndpointHealth objects when both are on,
    // so one health-aware wrapper (with the panic threshold) sees both flags.
    return cluster.health() != null ? cluster.health().balancer(lb) : cluster.resilience().balancer(lb);
  }

  /** A hash-based policy with a route hash_policy picks by the request's hash; everything else as usual. */
  private static int pick(LoadBalancer lb, RoutingEvent event) {
    if (event.cluster.config().lbPolicy().hashes()
        && event.route.action() instanceof io.keelson.dataplane.config.RouteAction.Forward f
        && !f.hashPolicies().isEmpty()) {
      long hash = RequestHash.compute(f.hashPolicies(), event.head, event.remoteIp, event.retryCluster == null ? event : null);
      if (hash != RequestHash.NONE) {
        return lb.pick(hash);
      }
    }
    return lb.pick();
  }
}
