package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * The {@code envoy.filters.network.http_connection_manager} of a listener. Immutable.
 *
 * @param statPrefix        Envoy's stat_prefix
 * @param routeConfig       the inline route_config
 * @param limits            request parsing limits (header block, request line, ...)
 * @param useRemoteAddress  Envoy's use_remote_address: append the peer address to x-forwarded-for
 * @param generateRequestId generate x-request-id when the request has none (Envoy default true)
 * @param requestTimeout    whole-request timeout from the first byte (0 = none)
 * @param idleTimeout       downstream connection idle timeout (common_http_protocol_options.idle_timeout; 0 = none)
 * @param accessLogs        access logs written for every request (Envoy's access_log); empty for none
 * @param tracing           trace context propagation and sampling (Envoy's tracing); null for none
 * @param maxConnectionDuration downstream connections are closed politely after this long
 *                          (common_http_protocol_options.max_connection_duration; ZERO for no limit)
 * @param http2             downstream HTTP/2 settings (http2_protocol_options)
 * @param streamIdleTimeout reset an HTTP/2 stream that makes no progress this long (stream_idle_timeout; 0 = never)
 * @param httpFilters       the http_filters before the router, in order (the router itself is implicit)
 * @param upgrades          upgrade_configs: lower-case upgrade type (e.g. "websocket") to its enabled flag;
 *                          an Upgrade of a type not listed is refused with 403, as Envoy does
 */
public record HttpConnectionManagerConfig(
    String statPrefix,
    RouteConfig routeConfig,
    HttpLimits limits,
    boolean useRemoteAddress,
    boolean generateRequestId,
    Duration requestTimeout,
    Duration idleTimeout,
    List<AccessLogConfig> accessLogs,
    TracingConfig tracing,
    Duration maxConnectionDuration,
    Http2Options http2,
    Duration streamIdleTimeout,
    List<HttpFilterConfig> httpFilters,
    java.util.Map<String, Boolean> upgrades) {

  /** Envoy's stream_idle_timeout default. */
  public static final Duration DEFAULT_STREAM_IDLE_TIMEOUT = Duration.ofMinutes(5);

  public HttpConnectionManagerConfig {
    accessLogs = List.copyOf(accessLogs);
    if (maxConnectionDuration == null) {
      maxConnectionDuration = Duration.ZERO;
    }
    if (http2 == null) {
      http2 = Http2Options.DEFAULT;
    }
    if (streamIdleTimeout == null) {
      streamIdleTimeout = DEFAULT_STREAM_IDLE_TIMEOUT;
    }
    httpFilters = httpFilters == null ? List.of() : List.copyOf(httpFilters);
    upgrades = upgrades == null ? java.util.Map.of() : java.util.Map.copyOf(upgrades);
  }

  /** Without upgrade_configs (main's parameter list). */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration,
      Http2Options http2, Duration streamIdleTimeout, List<HttpFilterConfig> httpFilters) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, http2, streamIdleTimeout, httpFilters, java.util.Map.of());
  }

  /** Without HTTP filters other than the router (wip/tls-l4's parameter list). */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration,
      Http2Options http2, Duration streamIdleTimeout, java.util.Map<String, Boolean> upgrades) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, http2, streamIdleTimeout, List.of(), upgrades);
  }

  /** With the default HTTP/2 options and stream idle timeout, without upgrade_configs. */
  public HttpConnectionManagerConfig(
      String statPrefix,
      RouteConfig routeConfig,
      HttpLimits limits,
      boolean useRemoteAddress,
      boolean generateRequestId,
      Duration requestTimeout,
      Duration idleTimeout,
      List<AccessLogConfig> accessLogs,
      TracingConfig tracing,
      Duration maxConnectionDuration) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, Http2Options.DEFAULT, DEFAULT_STREAM_IDLE_TIMEOUT, List.of(), java.util.Map.of());
  }

  /** Without upgrade_configs (main's parameter list). */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration,
      Http2Options http2, Duration streamIdleTimeout) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, http2, streamIdleTimeout, List.of(), java.util.Map.of());
  }

  /** With the default HTTP/2 settings (wip/tls-l4's parameter list). */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration,
      java.util.Map<String, Boolean> upgrades) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, Http2Options.DEFAULT, DEFAULT_STREAM_IDLE_TIMEOUT, List.of(), upgrades);
  }

  /** Without a maximum connection duration. */
  public HttpConnectionManagerConfig(
      String statPrefix,
      RouteConfig routeConfig,
      HttpLimits limits,
      boolean useRemoteAddress,
      boolean generateRequestId,
      Duration requestTimeout,
      Duration idleTimeout,
      List<AccessLogConfig> accessLogs,
      TracingConfig tracing) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs, tracing, Duration.ZERO);
  }

  /** Without access logs. */
  public HttpConnectionManagerConfig(
      String statPrefix,
      RouteConfig routeConfig,
      HttpLimits limits,
      boolean useRemoteAddress,
      boolean generateRequestId,
      Duration requestTimeout,
      Duration idleTimeout) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, List.of(), null);
  }
}
