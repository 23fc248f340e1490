package io.keelson.control.xds;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.ArrayList;
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
 * warning names the virtual host that lost it, once per (route config, domain, losing virtual host) while the clash
 * lasts ({@link ChangeWarnings}: not on every translation of every proxy, nor from a dry run). The memory of what was
 * warned about is this instance's: the xDS server owns one and hands it to its translators; a translator made without
 * one has its own. Thread-safe.
 */
final class DistinctDomains {
  private static final Logger LOG = LoggerFactory.getLogger(DistinctDomains.class);
  private final ChangeWarnings clashes = new ChangeWarnings(LOG);

  /** A new state: a clash it still has is not warned about again. */
  void changed() {
    clashes.round();
  }

  /** Clash warnings logged since this instance was made, for tests. */
  long warnings() {
    return clashes.logged();
  }

  /** {@code routes} with each domain in at most one virtual host of its RouteConfiguration (the same list if so). */
  List<RouteConfiguration> of(List<RouteConfiguration> routes) {
    List<RouteConfiguration> out = null;
    for (int i = 0; i < routes.size(); i++) {
      RouteConfiguration rc = routes.get(i);
      RouteConfiguration kept = of(rc);
      if (kept != rc) {
        if (out == null) {
          out = new ArrayList<>(routes);
        }
        out.set(i, kept);
      }
    }
    return out == null ? routes : out;
  }

  /** {@code rc} with each domain (case-insensitive, as Envoy) in its first virtual host only ({@code rc} if so). */
  RouteConfiguration of(RouteConfiguration rc) {
    Map<String, String> owner = new HashMap<>();
    RouteConfiguration.Builder b = null;
    for (int i = 0; i < rc.getVirtualHostsCount(); i++) {
      VirtualHost vh = rc.getVirtualHosts(i);
      List<String> kept = null; // copied at the first clash only
      for (int j = 0; j < vh.getDomainsCount(); j++) {
        String d = vh.getDomains(j);
        String first = owner.putIfAbsent(d.toLowerCase(Locale.ROOT), vh.getName());
        if (first != null) {
          if (kept == null) {
            kept = new ArrayList<>(vh.getDomainsList().subList(0, j));
          }
          clashes.warn(rc.getName() + "|" + d.toLowerCase(Locale.ROOT) + "|" + vh.getName(), () -> "route config "
              + rc.getName() + ": domain " + d + " of virtual host " + vh.getName() + " is already virtual host "
              + first + "'s; left out of " + vh.getName());
        } else if (kept != null) {
          kept.add(d);
        }
      }
      if (kept != null) {
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
