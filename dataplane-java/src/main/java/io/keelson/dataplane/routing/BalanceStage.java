package io.keelson.dataplane.routing;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.LbOptions;
import io.keelson.dataplane.filter.statefulsession.SessionHosts;
import io.keelson.dataplane.filter.statefulsession.StatefulSession;
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
  /** Stateful sessions' view of the clusters they were used with, per snapshot like {@link #balancers}. */
  private final Map<ServingCluster, SessionHosts> sessionHosts = new IdentityHashMap<>();
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
        sessionHosts.clear();
        current = event.snapshot;
      }
      LoadBalancer lb = balancers.get(event.cluster);
      if (lb == null) {
        lb = servingBalancer(event.cluster, seeds);
        balancers.put(event.cluster, lb);
      }
      event.balancer = lb;
      StatefulSession session = event.retryCluster == null ? event.policy.session() : null; // retries balance, as Envoy; the
      // connection then tells the client the retry's host (FilterContext.sessionServedBy)
      if (session != null) {
        event.endpoint = pickForSession(session, lb, event);
        return;
      }
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
   * envoy.filters.http.stateful_session: the host the request names when the cluster has it and its health is one
   * common_lb_config.override_host_status allows; else -1 under {@code strict} (503, as Envoy), or the balancer's pick,
   * which the client is told through the session state. A value that does not decode counts as no host, even when
   * strict (as Envoy); one naming an address outside the cluster is an unavailable host.
   */
  private int pickForSession(StatefulSession session, LoadBalancer lb, RoutingEvent event) {
    SessionHosts hosts = sessionHosts.computeIfAbsent(event.cluster, c -> new SessionHosts(c.config().endpoints()));
    int host = hosts.indexOf(event.policy.sessionHost());
    if (host >= 0 && host < lb.size() && mayOverride(event.cluster, host)) {
      return host;
    }
    if (session.strict() && host != SessionHosts.NONE) {
      return -1;
    }
    int picked = pick(lb, event);
    if (picked >= 0 && picked != host) {
      event.policy.sessionServedBy(hosts.encoded(picked));
    }
    return picked;
  }

  private static boolean mayOverride(ServingCluster cluster, int index) {
    var health = cluster.health() != null ? cluster.health().endpoint(index) : cluster.resilience().health(index);
    int allowed = cluster.config().lb().overrideHosts();
    return (health == null || health.available() ? allowed & LbOptions.OVERRIDE_HEALTHY : allowed & LbOptions.OVERRIDE_UNHEALTHY) != 0;
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
