package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * Envoy's Cluster with its load_assignment. Immutable.
 *
 * @param connectTimeout Envoy connect_timeout (default 5 s)
 * @param endpoints      every endpoint of every locality, flattened
 * @param circuitBreakers circuit_breakers thresholds (Envoy's defaults when the cluster sets none)
 * @param outlierDetection outlier_detection, or null when the cluster has none
 * @param idleTimeout     upstream connections idle this long are closed (common_http_protocol_options.idle_timeout,
 *                        Envoy default 1 h; ZERO for never)
 * @param maxConnectionDuration upstream connections are closed after this age once idle (ZERO for no limit)
 * @param http2          HTTP/2 upstream options (explicit_http_config.http2_protocol_options), or null for HTTP/1.1
 */
public record ClusterConfig(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    List<EndpointConfig> endpoints,
    CircuitBreakerConfig circuitBreakers,
    OutlierDetectionConfig outlierDetection,
    Duration idleTimeout,
    Duration maxConnectionDuration,
    Http2Options http2) {

  /** Envoy's default upstream idle timeout. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);

  public ClusterConfig {
    endpoints = List.copyOf(endpoints);
    if (circuitBreakers == null) {
      circuitBreakers = CircuitBreakerConfig.DEFAULTS;
    }
    if (idleTimeout == null) {
      idleTimeout = DEFAULT_IDLE_TIMEOUT;
    }
    if (maxConnectionDuration == null) {
      maxConnectionDuration = Duration.ZERO;
    }
  }

  /** Default circuit breakers, no outlier detection. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
    this(name, lbPolicy, connectTimeout, endpoints, CircuitBreakerConfig.DEFAULTS, null, DEFAULT_IDLE_TIMEOUT, Duration.ZERO, null);
  }

  /** An HTTP/1.1 cluster. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration, null);
  }

  /** True when requests go upstream over HTTP/2 (h2c). */
  public boolean http2Upstream() {
    return http2 != null;
  }
}
