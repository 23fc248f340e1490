package io.keelson.dataplane.routing;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.pipeline.Stage;

/**
 * Runs the listener's HTTP filter chain (fault injection, local rate limiting, ...) on the routed
 * request and leaves the verdict in {@link RoutingEvent#policy}. When a filter had the route chosen again (jwt_authn's
 * {@code clear_route_cache}) and it changed, the event's route, virtual host and cluster become the new ones, so the
 * balance stage and the connection (timeouts, retries, rewrites) act on it. Stateless itself: the filters' shared
 * state is thread-safe, so the same chain serves every event loop inline and the ring's policy thread.
 */
public final class PolicyStage implements Stage<RoutingEvent> {
  @Override
  public void onEvent(RoutingEvent event) {
    FilterContext policy = event.policy;
    policy.clear();
    if (event.failure != null) {
      return; // an earlier stage failed: the callback answers with an error
    }
    if (event.retryCluster != null || event.reroute || event.listener.filters().isEmpty()) { // a retry or a reroute: the
      // filters ran for the request already
      return;
    }
    policy.head = event.head;
    policy.route = event.route;
    policy.virtualHost = event.virtualHost;
    policy.remoteIp = event.remoteIp;
    policy.remoteIpFromXff = event.remoteIpFromXff;
    policy.peerPrincipal = event.peerPrincipal;
    policy.remoteAddress = event.remoteAddress;
    policy.peerAddress = event.peerAddress;
    policy.localAddress = event.localAddress;
    policy.upstreamCluster = event.weightedCluster == null ? null : event.weightedCluster.name();
    event.listener.filters().run(policy);
    if (policy.rerouted()) { // a filter cleared the route cache and the route changed: the request goes by the new one
      event.route = policy.reroutedRoute();
      event.virtualHost = policy.reroutedHost();
      event.weightedCluster = policy.reroutedCluster();
      event.cluster = event.weightedCluster == null ? null : event.snapshot.cluster(event.weightedCluster.name());
    }
    policy.clearInputs();
  }
}
