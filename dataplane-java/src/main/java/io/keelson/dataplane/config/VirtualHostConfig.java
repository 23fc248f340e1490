package io.keelson.dataplane.config;

import java.util.List;

/**
 * Envoy's VirtualHost. Immutable.
 *
 * @param domains  Envoy domain patterns: exact, {@code *.suffix}, {@code prefix.*}, or {@code *}
 */
public record VirtualHostConfig(
    String name,
    List<String> domains,
    List<RouteEntry> routes,
    HeaderMutations requestHeaders,
    HeaderMutations responseHeaders) {

  public VirtualHostConfig {
    domains = List.copyOf(domains);
    routes = List.copyOf(routes);
  }
}
