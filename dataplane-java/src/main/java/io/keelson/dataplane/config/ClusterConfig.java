package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * Envoy's Cluster with its load_assignment. Immutable.
 *
 * @param connectTimeout Envoy connect_timeout (default 5 s)
 * @param endpoints      every endpoint of every locality, flattened
 * @param http2          HTTP/2 upstream options (explicit_http_config.http2_protocol_options), or null for HTTP/1.1
 */
public record ClusterConfig(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    List<EndpointConfig> endpoints,
    Http2Options http2) {

  public ClusterConfig {
    endpoints = List.copyOf(endpoints);
  }

  /** An HTTP/1.1 cluster. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
    this(name, lbPolicy, connectTimeout, endpoints, null);
  }

  /** True when requests go upstream over HTTP/2 (h2c). */
  public boolean http2Upstream() {
    return http2 != null;
  }
}
