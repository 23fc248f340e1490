package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ClientTls;
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
 * @param healthCheck    the active health check (health_checks[0]), or null for none
 * @param lb             load-balancing options besides lb_policy
 * @param tls            TLS origination (transport_socket envoy.transport_sockets.tls), or null for plaintext
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
    Http2Options http2,
    HealthCheckConfig healthCheck,
    LbOptions lb,
    ClientTls tls) {

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
    if (lb == null) {
      lb = LbOptions.DEFAULTS;
    }
  }

  /** Plaintext (main's parameter list). */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration, http2,
        healthCheck, lb, null);
  }

  /** No health check, default balancing options, plaintext or TLS (wip/tls-l4's parameter list). */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, ClientTls tls) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration, http2,
        null, LbOptions.DEFAULTS, tls);
  }

  /** No health check, default balancing options, plaintext. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration, http2,
        null, LbOptions.DEFAULTS, null);
  }

  /** An HTTP/1.1 cluster, plaintext or TLS. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, ClientTls tls) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration, null,
        null, LbOptions.DEFAULTS, tls);
  }

  /** An HTTP/1.1 cluster with default circuit breakers and connection lifetimes, no outlier detection. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      HealthCheckConfig healthCheck, LbOptions lb) {
    this(name, lbPolicy, connectTimeout, endpoints, CircuitBreakerConfig.DEFAULTS, null, DEFAULT_IDLE_TIMEOUT, Duration.ZERO, null,
        healthCheck, lb, null);
  }

  /** Default circuit breakers, no outlier detection. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
    this(name, lbPolicy, connectTimeout, endpoints, CircuitBreakerConfig.DEFAULTS, null, DEFAULT_IDLE_TIMEOUT, Duration.ZERO, null,
        null, LbOptions.DEFAULTS, null);
  }

  /** A plaintext HTTP/1.1 cluster. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration, null,
        null, LbOptions.DEFAULTS, null);
  }

  /** True when requests go upstream over HTTP/2 (h2c, or h2 when {@link #tls} is set). */
  public boolean http2Upstream() {
    return http2 != null;
  }
}
