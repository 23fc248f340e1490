package io.keelson.dataplane.config;

import java.util.List;
import java.util.Map;

/**
 * Envoy's VirtualHost. Immutable.
 *
 * @param perFilterConfig typed_per_filter_config: HTTP filter name to that filter's translated per-route settings
 * @param domains  Envoy domain patterns: exact, {@code *.suffix}, {@code prefix.*}, or {@code *}
 */
public record VirtualHostConfig(
    String name,
    List<String> domains,
    List<RouteEntry> routes,
    HeaderMutations requestHeaders,
    HeaderMutations responseHeaders,
    Map<String, Object> perFilterConfig) {

  public VirtualHostConfig {
    domains = List.copyOf(domains);
    routes = List.copyOf(routes);
    perFilterConfig = Map.copyOf(perFilterConfig);
  }

  /** Without per-filter config. */
  public VirtualHostConfig(
      String name, List<String> domains, List<RouteEntry> routes, HeaderMutations requestHeaders, HeaderMutations responseHeaders) {
    this(name, domains, routes, requestHeaders, responseHeaders, Map.of());
  }
}
