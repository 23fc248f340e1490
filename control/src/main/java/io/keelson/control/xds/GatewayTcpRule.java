package io.keelson.control.xds;

import io.keelson.control.policy.ListenerRoutes;
import io.keelson.control.policy.Policy;
import java.util.List;

/**
 * The {@code tcp} rule a gateway's TCP or terminating TLS server relays to, and the route (VirtualService or TCPRoute)
 * it is of: {@link #first}, as istiod's {@code buildGatewayNetworkFiltersFromTCPRoutes} picks it. Immutable.
 */
record GatewayTcpRule(Policy.Routes route, Policy.StreamRule rule) {
  /**
   * The first {@code tcp} rule, by route name ({@code all} sorted so), of a route bound to {@code b}'s server, or
   * null; a VirtualService must share a host with the server (istiod's {@code pickMatchingGatewayHosts}: each server of
   * a port reaches its own backend), and its rule that names a port must name this one (a Gateway API route's port is
   * a mesh Service's: its parentRef chose the listener).
   */
  static GatewayTcpRule first(GatewayTranslator.Bound b, int port, List<Policy.Routes> all,
      io.keelson.control.store.PolicySet state) {
    for (Policy.Routes r : all) {
      if (!ListenerRoutes.attaches(r, b.gateway(), b.server(), state::namespaceLabels)) {
        continue;
      }
      boolean istio = r.kind().equals("VirtualService");
      if (istio && !sharesAHost(r, b.server())) {
        continue;
      }
      for (Policy.StreamRule rule : r.streams()) {
        if (rule.protocol() == Policy.Protocol.TCP && (!istio || rule.port() == null || rule.port() == port)
            && rule.appliesOn(b.gateway().ref())) {
          return new GatewayTcpRule(r, rule);
        }
      }
    }
    return null;
  }

  private static boolean sharesAHost(Policy.Routes r, Policy.Server s) {
    for (String vsHost : r.gatewayHosts()) {
      for (String serverHost : s.hosts()) {
        if (io.keelson.control.policy.GatewayHosts.intersection(serverHost, vsHost) != null) {
          return true;
        }
      }
    }
    return false;
  }
}
