package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ClientTls;
import java.time.Duration;
import java.util.List;

/**
 * Envoy's Cluster with its load_assignment. Immutable.
 *
 * @param connectTimeout Envoy connect_timeout (default 5 s)
 * @param endpoints      every endpoint of every locality, flattened
 * @param tls            TLS origination (transport_socket envoy.transport_sockets.tls), or null for plaintext
 */
public record ClusterConfig(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    List<EndpointConfig> endpoints,
    ClientTls tls) {

  public ClusterConfig {
    endpoints = List.copyOf(endpoints);
  }

  /** A plaintext cluster. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
    this(name, lbPolicy, connectTimeout, endpoints, null);
  }
}
