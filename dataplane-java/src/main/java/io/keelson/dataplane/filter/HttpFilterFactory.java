package io.keelson.dataplane.filter;

import com.google.protobuf.Message;

/**
 * Reads one HTTP filter type's Envoy config and compiles it. Config translation ({@link #translate},
 * {@link #translatePerRoute}) runs once per config; {@link #create} once per served snapshot for the
 * listener-level config and once per route or virtual host override. Stateless and thread-safe.
 *
 * <p>To add a filter: implement this in the filter's own package and list it in {@link HttpFilterFactories}.
 */
public interface HttpFilterFactory {

  /** Envoy's well-known filter name, e.g. {@code envoy.filters.http.fault}. */
  String filterName();

  /** The typed_config message this factory reads. */
  Class<? extends Message> configType();

  /** The per-route (typed_per_filter_config) message; by default the same as {@link #configType}. */
  default Class<? extends Message> perRouteConfigType() {
    return configType();
  }

  /** Translates the listener-level typed_config into the filter's immutable settings, or null after reporting errors. */
  Object translate(Message config, String path, ConfigErrors errors);

  /** Translates a typed_per_filter_config value; by default as {@link #translate}. */
  default Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    return translate(config, path, errors);
  }

  /**
   * Settings for a route whose virtual host also has settings for this filter: by default the route's replace the
   * virtual host's (Envoy's most specific config); a filter that reads every level (CORS) merges them here.
   */
  default Object mergePerRoute(Object virtualHost, Object route) {
    return route;
  }

  /**
   * Whether the filter with listener-level {@code settings} (from {@link #translate}) re-codes request bodies (a
   * request-direction compressor or decompressor): the connection codes them when it forwards, after a buffer filter
   * has counted the body, so such a filter cannot run before a buffer filter.
   */
  default boolean codesRequestBodies(Object settings) {
    return false;
  }

  /** {@link #streamedBodies}: the filter may stream the request body through a {@link StreamedBodyCheck}. */
  int STREAMS_REQUEST = 1;
  /** {@link #streamedBodies}: the filter may stream the response body. */
  int STREAMS_RESPONSE = 2;

  /**
   * The bodies ({@link #STREAMS_REQUEST}, {@link #STREAMS_RESPONSE} bits) a filter with {@code settings} (its own, or a
   * route's from {@link #translatePerRoute}) may stream through a {@link StreamedBodyCheck}: a connection streams a body
   * through one filter only, so a chain where two may stream the same direction is refused.
   */
  default int streamedBodies(Object settings) {
    return 0;
  }

  /**
   * The per-filter config key under which the route translator stores this filter's settings from a built-in
   * VirtualHost/RouteAction field (Envoy's deprecated {@code cors}), or null when it reads none. Those settings
   * apply only where neither the route nor its virtual host has typed_per_filter_config for the filter, as in Envoy.
   */
  default String routeFieldKey() {
    return null;
  }

  /**
   * Compiles a route's or virtual host's override ({@code settings} from {@link #translatePerRoute}, merged); a
   * filter whose per-route message only adjusts its listener-level config (the global rate limit's vh_rate_limits)
   * reads {@code listenerSettings} (from {@link #translate}) here. By default {@link #create}{@code (settings)}.
   */
  default HttpFilter createOverride(Object listenerSettings, Object settings, FilterResources resources) {
    return create(settings, resources);
  }

  /**
   * Compiles settings (from either translate method) into a filter. A per-route override gets its own
   * instance (Envoy replaces the filter's config for that route), so its state is its own.
   */
  HttpFilter create(Object settings, FilterResources resources);
}
