package io.keelson.dataplane.filter.jwt;

import io.keelson.dataplane.route.PathMatch;
import java.util.List;

/**
 * {@code envoy.filters.http.jwt_authn}, compiled: the providers and the requirement each request path
 * gets (the first matching rule; none = no check). Immutable.
 *
 * @param providers          indexed by {@link Requirement.ForProvider#provider()}
 * @param bypassCorsPreflight let CORS preflight requests (OPTIONS with origin and access-control-request-method) through
 */
record JwtAuthnConfig(Provider[] providers, List<Rule> rules, boolean bypassCorsPreflight) {
  /** A rule: requests whose path matches need {@code requirement} (null: no JWT check). */
  record Rule(PathMatch match, Requirement requirement) {}

  /** The requirement for a request path, or null. */
  Requirement requirementFor(String path) {
    for (int i = 0; i < rules.size(); i++) {
      Rule r = rules.get(i);
      if (r.match().matches(path)) {
        return r.requirement();
      }
    }
    return null;
  }

  /** A per-route {@code PerRouteConfig} with {@code disabled: true}: the route skips the filter. */
  record Disabled() {}
}
