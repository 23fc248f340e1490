package io.keelson.dataplane.route;

import io.keelson.dataplane.config.RouteEntry;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One virtual host's routes prepared for first-match lookup. Routes that match on a case-sensitive
 * exact path or path prefix and nothing else are found through an index (a hash map for exact
 * paths, a trie for prefixes); only the other routes that come before the indexed hit in config
 * order are tried one by one. The answer is the same as trying every route in order: the first route
 * in config order that matches. A CONNECT request is matched against the connect_matcher routes only, and those
 * routes never match another method (Envoy's rule). Immutable and thread-safe; lookups allocate nothing.
 */
final class CompiledRoutes {
  private final RouteEntry[] routes;
  /** Exact path to the index of the first pure exact-path route for it. */
  private final Map<String, Integer> exactPaths = new HashMap<>();
  private final PrefixTrie prefixes = new PrefixTrie();
  /** Indices of every route that is not indexed, ascending. */
  private final int[] scanned;
  /** Indices of the connect_matcher routes, ascending: the only routes a CONNECT request may match (as Envoy). */
  private final int[] connects;

  CompiledRoutes(List<RouteEntry> list) {
    routes = list.toArray(new RouteEntry[0]);
    int[] rest = new int[routes.length];
    int restCount = 0;
    int[] connectList = new int[routes.length];
    int connectCount = 0;
    for (int i = 0; i < routes.length; i++) {
      if (routes[i].match() instanceof RequestMatcher m && m.connect()) {
        connectList[connectCount++] = i;
        continue;
      }
      if (routes[i].match() instanceof RequestMatcher m && m.hasNoHeaderOrQueryMatchers()) {
        if (m.pathMatch() instanceof PathMatch.Exact exact && exact.caseSensitive()) {
          exactPaths.putIfAbsent(exact.path(), i);
          continue;
        }
        if (m.pathMatch() instanceof PathMatch.Prefix prefix && prefix.caseSensitive()) {
          prefixes.add(prefix.prefix(), i);
          continue;
        }
      }
      rest[restCount++] = i;
    }
    scanned = Arrays.copyOf(rest, restCount);
    connects = Arrays.copyOf(connectList, connectCount);
  }

  RouteEntry first(RequestHead head, io.keelson.dataplane.filter.DynamicMetadata metadata) {
    if (RequestMatcher.isConnect(head)) {
      for (int i : connects) {
        if (routes[i].match().matches(head, metadata)) {
          return routes[i];
        }
      }
      return null;
    }
    String path = head.path();
    int limit = Integer.MAX_VALUE;
    if (!exactPaths.isEmpty()) {
      Integer hit = exactPaths.get(path);
      if (hit != null) {
        limit = hit;
      }
    }
    if (!prefixes.isEmpty()) {
      limit = Math.min(limit, prefixes.firstMatch(path));
    }
    for (int i : scanned) {
      if (i > limit) {
        break;
      }
      RouteEntry route = routes[i];
      if (route.match().matches(head, metadata)) {
        return route;
      }
    }
    return limit == Integer.MAX_VALUE ? null : routes[limit];
  }
}
