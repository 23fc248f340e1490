package io.keelson.dataplane.config;

import java.util.List;
import java.util.Map;

/**
 * Envoy's VirtualHost. Immutable.
 *
 * @param perFilterConfig typed_per_filter_config: HTTP filter name to that filter's translated per-route settings
 * @param domains  Envoy domain patterns: exact, {@code *.suffix}, {@code prefix.*}, or {@code *}
 * @param includeRequestAttemptCount include_request_attempt_count: each upstream try carries
 *     {@code x-envoy-attempt-count} (1 on the first try)
 * @param includeAttemptCountInResponse include_attempt_count_in_response: so does the downstream response
 *     (the tries made)
 * @param rateLimits virtual_host.rate_limits, read by the global rate limit filter
 */
public record VirtualHostConfig(
    String name,
    List<String> domains,
    List<RouteEntry> routes,
    HeaderMutations requestHeaders,
    HeaderMutations responseHeaders,
    Map<String, Object> perFilterConfig,
    boolean includeRequestAttemptCount,
    boolean includeAttemptCountInResponse,
    List<RateLimitPolicy> rateLimits) {

  public VirtualHostConfig {
    rateLimits = List.copyOf(rateLimits);
    domains = List.copyOf(domains);
    routes = List.copyOf(routes);
    perFilterConfig = Map.copyOf(perFilterConfig);
  }

  /** Without rate limits. */
  public VirtualHostConfig(String name, List<String> domains, List<RouteEntry> routes, HeaderMutations requestHeaders,
      HeaderMutations responseHeaders, Map<String, Object> perFilterConfig, boolean includeRequestAttemptCount,
      boolean includeAttemptCountInResponse) {
    this(name, domains, routes, requestHeaders, responseHeaders, perFilterConfig, includeRequestAttemptCount,
        includeAttemptCountInResponse, List.of());
  }

  /** Without attempt count headers. */
  public VirtualHostConfig(String name, List<String> domains, List<RouteEntry> routes, HeaderMutations requestHeaders,
      HeaderMutations responseHeaders, Map<String, Object> perFilterConfig) {
    this(name, domains, routes, requestHeaders, responseHeaders, perFilterConfig, false, false);
  }

  /** Without per-filter config. */
  public VirtualHostConfig(
      String name, List<String> domains, List<RouteEntry> routes, HeaderMutations requestHeaders, HeaderMutations responseHeaders) {
    this(name, domains, routes, requestHeaders, responseHeaders, Map.of());
  }
}
