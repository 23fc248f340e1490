package io.keelson.dataplane.filter.cors;

import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.route.ValueMatch;
import java.util.List;

/**
 * Envoy's CorsPolicy (the filter's typed_per_filter_config, or the deprecated route / virtual host
 * {@code cors}), as Keelson runs it. Unset fields are empty or null, so that a route's policy can fall
 * back to its virtual host's field by field, as Envoy's filter reads them. Immutable.
 *
 * @param allowOrigins                 allow_origin_string_match, in order (empty: unset)
 * @param anyOrigin                    one of {@code allowOrigins} matches the literal {@code *} (Envoy then allows every origin)
 * @param allowMethods                 allow_methods ("" unset; "*" echoes Access-Control-Request-Method)
 * @param allowHeaders                 allow_headers ("" unset; "*" echoes Access-Control-Request-Headers)
 * @param exposeHeaders                expose_headers ("" unset)
 * @param maxAge                       max_age ("" unset)
 * @param allowCredentials             allow_credentials, or null when unset
 * @param allowPrivateNetworkAccess    allow_private_network_access, or null when unset
 * @param forwardNotMatchingPreflights forward_not_matching_preflights, or null when unset (Envoy's default: true)
 * @param filterEnabled                filter_enabled's default_value, or null when absent (enabled for every request)
 * @param shadowEnabled                shadow_enabled's default_value, or null when absent (never shadow)
 */
public record CorsConfig(
    List<ValueMatch> allowOrigins,
    boolean anyOrigin,
    String allowMethods,
    String allowHeaders,
    String exposeHeaders,
    String maxAge,
    Boolean allowCredentials,
    Boolean allowPrivateNetworkAccess,
    Boolean forwardNotMatchingPreflights,
    Percent filterEnabled,
    Percent shadowEnabled) {

  /** The listener-level filter's: no policy, so the filter does nothing (Envoy's filter without a route policy). */
  static final CorsConfig NO_POLICY = new CorsConfig(List.of(), false, "", "", "", "", null, null, null, Percent.NONE, null);

  public CorsConfig {
    allowOrigins = List.copyOf(allowOrigins);
  }

  /**
   * A route's policy over its virtual host's, as Envoy's filter reads them (most specific first): each field is
   * the route's when set, else the virtual host's; filter_enabled and shadow_enabled are the route's only.
   */
  static CorsConfig merge(CorsConfig virtualHost, CorsConfig route) {
    boolean origins = !route.allowOrigins.isEmpty();
    return new CorsConfig(
        origins ? route.allowOrigins : virtualHost.allowOrigins,
        origins ? route.anyOrigin : virtualHost.anyOrigin,
        or(route.allowMethods, virtualHost.allowMethods),
        or(route.allowHeaders, virtualHost.allowHeaders),
        or(route.exposeHeaders, virtualHost.exposeHeaders),
        or(route.maxAge, virtualHost.maxAge),
        route.allowCredentials != null ? route.allowCredentials : virtualHost.allowCredentials,
        route.allowPrivateNetworkAccess != null ? route.allowPrivateNetworkAccess : virtualHost.allowPrivateNetworkAccess,
        route.forwardNotMatchingPreflights != null ? route.forwardNotMatchingPreflights : virtualHost.forwardNotMatchingPreflights,
        route.filterEnabled,
        route.shadowEnabled);
  }

  private static String or(String first, String second) {
    return first.isEmpty() ? second : first;
  }
}
