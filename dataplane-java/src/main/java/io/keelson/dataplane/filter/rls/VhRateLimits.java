package io.keelson.dataplane.filter.rls;

/**
 * RateLimitPerRoute.vh_rate_limits: whether a route's requests also get descriptors from its virtual host's
 * rate_limits. A route's {@code include_vh_rate_limits: true} means {@link #INCLUDE} whatever this says (Envoy).
 */
enum VhRateLimits {
  /** The virtual host's apply only when the route has no rate_limits (the default). */
  OVERRIDE,
  /** The virtual host's apply as well as the route's. */
  INCLUDE,
  /** The virtual host's never apply. */
  IGNORE
}
