package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * Envoy's Cluster with its load_assignment. Immutable.
 *
 * @param connectTimeout Envoy connect_timeout (default 5 s)
 * @param endpoints      every endpoint of every locality, flattened
 * @param healthCheck    the active health check (health_checks[0]), or null for none
 * @param lb             load-balancing options besides lb_policy
 */
public record ClusterConfig(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    List<EndpointConfig> endpoints,
    HealthCheckConfig healthCheck,
    LbOptions lb) {

  public ClusterConfig {
    endpoints = List.copyOf(endpoints);
    if (lb == null) {
      lb = LbOptions.DEFAULTS;
    }
  }

  /** No health check, default balancing options. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
    this(name, lbPolicy, connectTimeout, endpoints, null, LbOptions.DEFAULTS);
  }
}
