package io.keelson.dataplane.route;

import io.keelson.dataplane.config.RouteEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One virtual host's routes prepared for first-match lookup. Routes that match on an exact,
 * case-sensitive path and nothing else are found through a hash map; only the other routes that
 * come before that hit in config order are tried one by one. The answer is the same as trying every
 * route in order: the first route in config order that matches. Immutable and thread-safe; lookups
 * allocate nothing.
 */
final class CompiledRoutes {
  private final RouteEntry[] routes;
  /** Exact path to the index of the first pure exact-path route for it. */
  private final Map<String, Integer> exactPaths;
  /** Indices of every route that is not a pure exact-path route, ascending. */
  private final int[] scanned;

  CompiledRoutes(List<RouteEntry> list) {
    routes = list.toArray(new RouteEntry[0]);
    Map<String, Integer> exact = new HashMap<>();
    int[] rest = new int[routes.length];
    int restCount = 0;
    for (int i = 0; i < routes.length; i++) {
      String path = pureExactPath(routes[i]);
      if (path != null) {
        exact.putIfAbsent(path, i);
      } else {
        rest[restCount++] = i;
      }
    }
    exactPaths = exact;
    scanned = java.util.Arrays.copyOf(rest, restCount);
  }

  /** The path of a route that matches on an exact case-sensitive path only, else null. */
  private static String pureExactPath(RouteEntry route) {
    if (route.match() instanceof RequestMatcher m
        && m.hasNoHeaderOrQueryMatchers()
        && m.pathMatch() instanceof PathMatch.Exact exact
        && exact.caseSensitive()) {
      return exact.path();
    }
    return null;
  }

  RouteEntry first(RequestHead head) {
    Integer hit = exactPaths.isEmpty() ? null : exactPaths.get(head.path());
    int limit = hit == null ? Integer.MAX_VALUE : hit;
    for (int i : scanned) {
      if (i > limit) {
        break;
      }
      RouteEntry route = routes[i];
      if (route.match().matches(head)) {
        return route;
      }
    }
    return hit == null ? null : routes[limit];
  }
}
