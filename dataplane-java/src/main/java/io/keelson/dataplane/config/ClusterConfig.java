package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * Envoy's Cluster with its load_assignment. Immutable.
 *
 * @param connectTimeout Envoy connect_timeout (default 5 s)
 * @param endpoints      every endpoint of every locality, flattened
 */
public record ClusterConfig(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    List<EndpointConfig> endpoints) {

  public ClusterConfig {
    endpoints = List.copyOf(endpoints);
  }
}
