package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ForwardClientCert;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The {@code envoy.filters.network.http_connection_manager} of a listener. Immutable.
 *
 * @param statPrefix        Envoy's stat_prefix
 * @param routeConfig       the inline route_config
 * @param limits            request parsing limits (header block, request line, ...)
 * @param useRemoteAddress  Envoy's use_remote_address: the downstream address is the peer's (appended to
 *                          x-forwarded-for), not one taken from x-forwarded-for; see {@link io.keelson.dataplane.edge}
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
 * @param forwardClientCert forward_client_cert_details / set_current_client_cert_details (x-forwarded-client-cert);
 *                          Envoy's default SANITIZE when absent
 * @param suppressEnvoyHeaders the router's suppress_envoy_headers: it adds no {@code x-envoy-*} header of its own
 *                          ({@code x-envoy-overloaded} on its circuit-breaker 503s); Envoy's include_*_attempt_count
 *                          opt-ins still add {@code x-envoy-attempt-count}, as in Envoy
 * @param xffNumTrustedHops Envoy's xff_num_trusted_hops: proxies in front of this one whose x-forwarded-for
 *                          entries are trusted
 * @param skipXffAppend     Envoy's skip_xff_append: with use_remote_address, do not append the peer to x-forwarded-for
 * @param internalAddresses Envoy's internal_address_config; {@link InternalAddresses#NONE} (nothing internal) when absent
 * @param preserveExternalRequestId Envoy's preserve_external_request_id: keep an edge client's x-request-id (by
 *                          default an edge request gets a new one when generate_request_id is on)
 * @param pathNormalization normalize_path, merge_slashes and path_with_escaped_slashes_action, applied to every
 *                          request's path before the filters and routing; {@link PathNormalization#NONE} when absent
 * @param localReply        local_reply_config: how the proxy's own replies are rewritten; {@link LocalReplyConfig#NONE}
 *                          when absent
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
    Map<String, Boolean> upgrades,
    ForwardClientCert forwardClientCert,
    boolean suppressEnvoyHeaders,
    int xffNumTrustedHops,
    boolean skipXffAppend,
    InternalAddresses internalAddresses,
    boolean preserveExternalRequestId,
    PathNormalization pathNormalization,
    LocalReplyConfig localReply) {

  /** A connection manager without local_reply_config. */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration, Http2Options http2,
      Duration streamIdleTimeout, List<HttpFilterConfig> httpFilters, Map<String, Boolean> upgrades,
      ForwardClientCert forwardClientCert, boolean suppressEnvoyHeaders, int xffNumTrustedHops, boolean skipXffAppend,
      InternalAddresses internalAddresses, boolean preserveExternalRequestId, PathNormalization pathNormalization) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, http2, streamIdleTimeout, httpFilters, upgrades, forwardClientCert,
        suppressEnvoyHeaders, xffNumTrustedHops, skipXffAppend, internalAddresses, preserveExternalRequestId,
        pathNormalization, LocalReplyConfig.NONE);
  }

  /** A connection manager with Envoy's defaults for xff_num_trusted_hops (0), skip_xff_append and internal_address_config. */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration, Http2Options http2,
      Duration streamIdleTimeout, List<HttpFilterConfig> httpFilters, Map<String, Boolean> upgrades,
      ForwardClientCert forwardClientCert, boolean suppressEnvoyHeaders) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, http2, streamIdleTimeout, httpFilters, upgrades, forwardClientCert,
        suppressEnvoyHeaders, 0, false, InternalAddresses.NONE, false, PathNormalization.NONE);
  }

  /** A connection manager whose router adds its {@code x-envoy-*} headers (suppress_envoy_headers false). */
  public HttpConnectionManagerConfig(String statPrefix, RouteConfig routeConfig, HttpLimits limits,
      boolean useRemoteAddress, boolean generateRequestId, Duration requestTimeout, Duration idleTimeout,
      List<AccessLogConfig> accessLogs, TracingConfig tracing, Duration maxConnectionDuration, Http2Options http2,
      Duration streamIdleTimeout, List<HttpFilterConfig> httpFilters, Map<String, Boolean> upgrades,
      ForwardClientCert forwardClientCert) {
    this(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId, requestTimeout, idleTimeout, accessLogs,
        tracing, maxConnectionDuration, http2, streamIdleTimeout, httpFilters, upgrades, forwardClientCert, false);
  }

  /** Envoy's stream_idle_timeout default. */
  public static final Duration DEFAULT_STREAM_IDLE_TIMEOUT = Duration.ofMinutes(5);

  public HttpConnectionManagerConfig {
    if (forwardClientCert == null) {
      forwardClientCert = ForwardClientCert.DEFAULT;
    }
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
    upgrades = upgrades == null ? Map.of() : Map.copyOf(upgrades);
    if (internalAddresses == null) {
      internalAddresses = InternalAddresses.NONE;
    }
    if (pathNormalization == null) {
      pathNormalization = PathNormalization.NONE;
    }
    if (localReply == null) {
      localReply = LocalReplyConfig.NONE;
    }
    if (xffNumTrustedHops < 0) {
      throw new IllegalArgumentException("xff_num_trusted_hops must not be negative: " + xffNumTrustedHops);
    }
  }

  /**
   * A connection manager that starts with default limits, no use_remote_address, x-request-id generated,
   * no request, idle or connection-duration limit (unlike the translator, which applies Envoy's 1 h idle
   * timeout), no access logs, no tracing, default HTTP/2 options, a 5 min stream idle timeout, only the
   * router, no upgrades and x-forwarded-client-cert SANITIZE.
   */
  public static Builder builder(String statPrefix, RouteConfig routeConfig) {
    return new Builder(statPrefix, routeConfig);
  }

  /**
   * Collects the optional parts of an {@link HttpConnectionManagerConfig}; each setter names its record
   * component. Not thread-safe: build on one thread.
   */
  public static final class Builder {
    private final String statPrefix;
    private final RouteConfig routeConfig;
    private HttpLimits limits = HttpLimits.DEFAULT;
    private boolean useRemoteAddress;
    private boolean generateRequestId = true;
    private Duration requestTimeout = Duration.ZERO;
    private Duration idleTimeout = Duration.ZERO;
    private List<AccessLogConfig> accessLogs = List.of();
    private TracingConfig tracing;
    private Duration maxConnectionDuration = Duration.ZERO;
    private Http2Options http2 = Http2Options.DEFAULT;
    private Duration streamIdleTimeout = DEFAULT_STREAM_IDLE_TIMEOUT;
    private List<HttpFilterConfig> httpFilters = List.of();
    private Map<String, Boolean> upgrades = Map.of();
    private ForwardClientCert forwardClientCert = ForwardClientCert.DEFAULT;
    private boolean suppressEnvoyHeaders;
    private int xffNumTrustedHops;
    private boolean skipXffAppend;
    private InternalAddresses internalAddresses = InternalAddresses.NONE;
    private boolean preserveExternalRequestId;
    private PathNormalization pathNormalization = PathNormalization.NONE;

    private Builder(String statPrefix, RouteConfig routeConfig) {
      this.statPrefix = statPrefix;
      this.routeConfig = routeConfig;
    }

    public Builder limits(HttpLimits limits) {
      this.limits = limits;
      return this;
    }

    public Builder useRemoteAddress(boolean useRemoteAddress) {
      this.useRemoteAddress = useRemoteAddress;
      return this;
    }

    public Builder generateRequestId(boolean generateRequestId) {
      this.generateRequestId = generateRequestId;
      return this;
    }

    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
      return this;
    }

    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
      return this;
    }

    public Builder accessLogs(List<AccessLogConfig> accessLogs) {
      this.accessLogs = accessLogs;
      return this;
    }

    public Builder tracing(TracingConfig tracing) {
      this.tracing = tracing;
      return this;
    }

    public Builder maxConnectionDuration(Duration maxConnectionDuration) {
      this.maxConnectionDuration = maxConnectionDuration;
      return this;
    }

    public Builder http2(Http2Options http2) {
      this.http2 = http2;
      return this;
    }

    public Builder streamIdleTimeout(Duration streamIdleTimeout) {
      this.streamIdleTimeout = streamIdleTimeout;
      return this;
    }

    public Builder httpFilters(List<HttpFilterConfig> httpFilters) {
      this.httpFilters = httpFilters;
      return this;
    }

    public Builder upgrades(Map<String, Boolean> upgrades) {
      this.upgrades = upgrades;
      return this;
    }

    public Builder forwardClientCert(ForwardClientCert forwardClientCert) {
      this.forwardClientCert = forwardClientCert;
      return this;
    }

    public Builder suppressEnvoyHeaders(boolean suppressEnvoyHeaders) {
      this.suppressEnvoyHeaders = suppressEnvoyHeaders;
      return this;
    }

    public Builder xffNumTrustedHops(int xffNumTrustedHops) {
      this.xffNumTrustedHops = xffNumTrustedHops;
      return this;
    }

    public Builder skipXffAppend(boolean skipXffAppend) {
      this.skipXffAppend = skipXffAppend;
      return this;
    }

    public Builder internalAddresses(InternalAddresses internalAddresses) {
      this.internalAddresses = internalAddresses;
      return this;
    }

    public Builder preserveExternalRequestId(boolean preserveExternalRequestId) {
      this.preserveExternalRequestId = preserveExternalRequestId;
      return this;
    }

    public Builder pathNormalization(PathNormalization pathNormalization) {
      this.pathNormalization = pathNormalization;
      return this;
    }

    public HttpConnectionManagerConfig build() {
      return new HttpConnectionManagerConfig(statPrefix, routeConfig, limits, useRemoteAddress, generateRequestId,
          requestTimeout, idleTimeout, accessLogs, tracing, maxConnectionDuration, http2, streamIdleTimeout, httpFilters,
          upgrades, forwardClientCert, suppressEnvoyHeaders, xffNumTrustedHops, skipXffAppend, internalAddresses,
          preserveExternalRequestId, pathNormalization);
    }
  }
}
