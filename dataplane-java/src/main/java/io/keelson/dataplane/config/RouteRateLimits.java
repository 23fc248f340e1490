package io.keelson.dataplane.config;

import java.util.List;

/**
 * A route's or virtual host's {@code rate_limits}, and for a route its deprecated {@code include_vh_rate_limits}.
 * Immutable.
 *
 * @param includeVirtualHost the virtual host's rate limits apply too (Envoy: include_vh_rate_limits), even when the
 *                           route has its own
 */
public record RouteRateLimits(List<RateLimitPolicy> policies, boolean includeVirtualHost) {
  public static final RouteRateLimits NONE = new RouteRateLimits(List.of(), false);

  public RouteRateLimits {
    policies = List.copyOf(policies);
  }

  public boolean isEmpty() {
    return policies.isEmpty();
  }
}
