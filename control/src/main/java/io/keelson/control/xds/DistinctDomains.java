package io.keelson.control.xds;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last guard of a RouteConfiguration: Envoy (and the data plane) refuses one whose domain is in two virtual hosts,
 * which would NACK the whole route config of every proxy it goes to. Admission refuses what it can see (a route's
 * hostname that is another Service's name); anything that still collides here keeps its first virtual host, and a
 * warning names the virtual host that lost it. Stateless.
 */
final class DistinctDomains {
  private static final Logger LOG = LoggerFactory.getLogger(DistinctDomains.class);

  private DistinctDomains() {}

  /** {@code routes} with each domain in at most one virtual host of its RouteConfiguration (the same list if so). */
  static List<RouteConfiguration> of(List<RouteConfiguration> routes) {
    List<RouteConfiguration> out = null;
    for (int i = 0; i < routes.size(); i++) {
      RouteConfiguration rc = routes.get(i);
      RouteConfiguration kept = of(rc);
      if (kept != rc) {
        if (out == null) {
          out = new java.util.ArrayList<>(routes);
        }
        out.set(i, kept);
      }
    }
    return out == null ? routes : out;
  }

  /** {@code rc} with each domain (case-insensitive, as Envoy) in its first virtual host only ({@code rc} if so). */
  static RouteConfiguration of(RouteConfiguration rc) {
    Map<String, String> owner = new HashMap<>();
    RouteConfiguration.Builder b = null;
    for (int i = 0; i < rc.getVirtualHostsCount(); i++) {
      VirtualHost vh = rc.getVirtualHosts(i);
      List<String> kept = new java.util.ArrayList<>(vh.getDomainsCount());
      for (String d : vh.getDomainsList()) {
        String first = owner.putIfAbsent(d.toLowerCase(Locale.ROOT), vh.getName());
        if (first == null) {
          kept.add(d);
        } else {
          LOG.warn("route config {}: domain {} of virtual host {} is already virtual host {}'s; left out of {}",
              rc.getName(), d, vh.getName(), first, vh.getName());
        }
      }
      if (kept.size() != vh.getDomainsCount()) {
        if (b == null) {
          b = rc.toBuilder();
        }
        b.setVirtualHosts(i, vh.toBuilder().clearDomains().addAllDomains(kept));
      }
    }
    if (b == null) {
      return rc;
    }
    // A virtual host left with no domain at all would be refused too (Envoy requires one): drop it.
    List<VirtualHost> hosts = b.getVirtualHostsList().stream().filter(vh -> vh.getDomainsCount() > 0).toList();
    return b.clearVirtualHosts().addAllVirtualHosts(hosts).build();
  }
}
