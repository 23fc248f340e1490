package io.keelson.dataplane.route;

import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A RouteConfig compiled for lookup: virtual host by authority (Envoy's domain rules), then the
 * first matching route. Immutable and thread-safe; lookups allocate nothing.
 *
 * <p>Domain order, as Envoy: exact, then the longest suffix wildcard ({@code *.foo.com}), then the
 * longest prefix wildcard ({@code foo.*}), then {@code *}. Hosts compare case-insensitively; a
 * wildcard never matches an empty part. When the authority carries a port, the lookup first tries
 * the authority with its port (so a domain that names a port wins), then without it.
 */
public final class RouteTable {
  private final RouteConfig config;
  private final ExactDomainIndex exact;
  /** Lower-case suffixes including the dot, e.g. ".foo.com", longest first. */
  private final String[] suffixes;
  private final VirtualHostConfig[] suffixHosts;
  /** Lower-case prefixes including the dot, e.g. "foo.", longest first. */
  private final String[] prefixes;
  private final VirtualHostConfig[] prefixHosts;
  private final VirtualHostConfig anyHost;
  /** Keyed by identity: the virtual hosts are this table's own objects. */
  private final IdentityHashMap<VirtualHostConfig, CompiledRoutes> compiled = new IdentityHashMap<>();

  private RouteTable(RouteConfig config) {
    this.config = config;
    Map<String, VirtualHostConfig> exactDomains = new LinkedHashMap<>();
    List<Map.Entry<String, VirtualHostConfig>> suffixList = new ArrayList<>();
    List<Map.Entry<String, VirtualHostConfig>> prefixList = new ArrayList<>();
    VirtualHostConfig any = null;
    for (VirtualHostConfig vh : config.virtualHosts()) {
      compiled.put(vh, new CompiledRoutes(vh.routes()));
      for (String d : vh.domains()) {
        String domain = d.toLowerCase(Locale.ROOT);
        boolean duplicate;
        if (domain.equals("*")) {
          duplicate = any != null;
          any = vh;
        } else if (domain.startsWith("*")) {
          duplicate = contains(suffixList, domain.substring(1));
          suffixList.add(Map.entry(domain.substring(1), vh));
        } else if (domain.endsWith("*")) {
          duplicate = contains(prefixList, domain.substring(0, domain.length() - 1));
          prefixList.add(Map.entry(domain.substring(0, domain.length() - 1), vh));
        } else {
          duplicate = exactDomains.putIfAbsent(domain, vh) != null;
        }
        if (duplicate) {
          throw new IllegalArgumentException(
              "route config '" + config.name() + "': domain '" + d + "' appears in more than one virtual host");
        }
      }
    }
    // Stable sort: equal lengths keep config order (they cannot both match one host anyway).
    Comparator<Map.Entry<String, VirtualHostConfig>> longestFirst =
        Comparator.comparingInt(e -> -e.getKey().length());
    suffixList.sort(longestFirst);
    prefixList.sort(longestFirst);
    exact = new ExactDomainIndex(exactDomains);
    suffixes = suffixList.stream().map(Map.Entry::getKey).toArray(String[]::new);
    suffixHosts = suffixList.stream().map(Map.Entry::getValue).toArray(VirtualHostConfig[]::new);
    prefixes = prefixList.stream().map(Map.Entry::getKey).toArray(String[]::new);
    prefixHosts = prefixList.stream().map(Map.Entry::getValue).toArray(VirtualHostConfig[]::new);
    anyHost = any;
  }

  private static boolean contains(List<Map.Entry<String, VirtualHostConfig>> list, String key) {
    return list.stream().anyMatch(e -> e.getKey().equals(key));
  }

  /**
   * Compiles a route configuration.
   *
   * @throws IllegalArgumentException when a domain appears in two virtual hosts (Envoy rejects that too)
   */
  public static RouteTable compile(RouteConfig config) {
    return new RouteTable(config);
  }

  public RouteConfig config() {
    return config;
  }

  /** The virtual host for an authority ({@code Host} / {@code :authority}, maybe with a port), or null. */
  public VirtualHostConfig virtualHost(String authority) {
    if (authority == null) {
      return anyHost;
    }
    int len = authority.length();
    VirtualHostConfig vh = lookup(authority, len);
    if (vh != null) {
      return vh;
    }
    int hostEnd = hostEnd(authority);
    if (hostEnd < len) {
      vh = lookup(authority, hostEnd);
      if (vh != null) {
        return vh;
      }
    }
    return anyHost;
  }

  /** The first route of {@code vh} (in config order) that matches, or null. */
  public RouteEntry route(VirtualHostConfig vh, RequestHead head) {
    return route(vh, head, null);
  }

  /**
   * The first route of {@code vh} that matches with the dynamic metadata the filters left ({@code dynamic_metadata}
   * matchers read it; null = none yet, as when routes are first chosen), or null.
   */
  public RouteEntry route(VirtualHostConfig vh, RequestHead head, io.keelson.dataplane.filter.DynamicMetadata metadata) {
    CompiledRoutes routesOfHost = compiled.get(vh);
    if (routesOfHost != null) {
      return routesOfHost.first(head, metadata);
    }
    // A virtual host from another table: plain first match.
    List<RouteEntry> routes = vh.routes();
    for (int i = 0, n = routes.size(); i < n; i++) {
      RouteEntry route = routes.get(i);
      if (route.match().matches(head, metadata)) {
        return route;
      }
    }
    return null;
  }

  /** Virtual host by the request's authority, then its first matching route; null when either is missing. */
  public RouteEntry route(RequestHead head) {
    VirtualHostConfig vh = virtualHost(head.authority());
    return vh == null ? null : route(vh, head);
  }

  private VirtualHostConfig lookup(String host, int end) {
    VirtualHostConfig vh = exact.get(host, 0, end);
    if (vh != null) {
      return vh;
    }
    for (int i = 0; i < suffixes.length; i++) {
      String suffix = suffixes[i];
      int n = suffix.length();
      if (end > n && ExactDomainIndex.regionEqualsIgnoreAsciiCase(suffix, 0, host, end - n, n)) {
        return suffixHosts[i];
      }
    }
    for (int i = 0; i < prefixes.length; i++) {
      String prefix = prefixes[i];
      int n = prefix.length();
      if (end > n && ExactDomainIndex.regionEqualsIgnoreAsciiCase(prefix, 0, host, 0, n)) {
        return prefixHosts[i];
      }
    }
    return null;
  }

  /** Where the host part ends: before ":port", after "]" for an IPv6 literal. */
  static int hostEnd(String authority) {
    int len = authority.length();
    if (!authority.isEmpty() && authority.charAt(0) == '[') {
      int close = authority.indexOf(']');
      return close < 0 ? len : close + 1;
    }
    int colon = authority.lastIndexOf(':');
    // More than one colon without brackets: a bare IPv6 literal, no port.
    return colon < 0 || authority.indexOf(':') != colon ? len : colon;
  }
}
