package io.keelson.dataplane.config;

import java.util.List;

/**
 * Envoy's RouteConfiguration: virtual hosts chosen by the request's authority. Immutable.
 *
 * @param name            route configuration name
 * @param virtualHosts    in config order
 * @param requestHeaders  mutations applied to every request routed by this table (outermost)
 * @param responseHeaders mutations applied to every response (outermost)
 */
public record RouteConfig(
    String name,
    List<VirtualHostConfig> virtualHosts,
    HeaderMutations requestHeaders,
    HeaderMutations responseHeaders) {

  public RouteConfig {
    virtualHosts = List.copyOf(virtualHosts);
  }
}
