package io.keelson.dataplane.config;

import io.keelson.dataplane.route.RouteMatch;
import java.util.Map;

/**
 * One Envoy Route: a match and what to do. Immutable.
 *
 * @param perFilterConfig typed_per_filter_config: HTTP filter name to that filter's translated per-route settings
 * @param rateLimits      route.rate_limits and include_vh_rate_limits, read by the global rate limit filter
 */
public record RouteEntry(
    String name,
    RouteMatch match,
    RouteAction action,
    HeaderMutations requestHeaders,
    HeaderMutations responseHeaders,
    Map<String, Object> perFilterConfig,
    RouteRateLimits rateLimits) {

  public RouteEntry {
    perFilterConfig = Map.copyOf(perFilterConfig);
  }

  /** Without rate limits. */
  public RouteEntry(String name, RouteMatch match, RouteAction action, HeaderMutations requestHeaders, HeaderMutations responseHeaders,
      Map<String, Object> perFilterConfig) {
    this(name, match, action, requestHeaders, responseHeaders, perFilterConfig, RouteRateLimits.NONE);
  }

  /** Without per-filter config. */
  public RouteEntry(String name, RouteMatch match, RouteAction action, HeaderMutations requestHeaders, HeaderMutations responseHeaders) {
    this(name, match, action, requestHeaders, responseHeaders, Map.of());
  }
}
