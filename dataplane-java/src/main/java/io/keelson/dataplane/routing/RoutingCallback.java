package io.keelson.dataplane.routing;

/**
 * Receives a routing decision. Called on the thread that ran the last stage: the connection's own
 * event loop (inline) or the balance stage's thread (ring), so implementations copy the decision out
 * and hop back to their event loop themselves.
 */
@FunctionalInterface
public interface RoutingCallback {
  void onRouted(RoutingEvent event);
}
