package io.keelson.bench.e2e;

/**
 * Renders the Envoy v3 bootstrap YAML the Keelson peer runs: one listener with an
 * http_connection_manager, an inline route to one static cluster — what an Envoy user would
 * write for the same job. Stateless.
 */
final class KeelsonBootstrap {
  private KeelsonBootstrap() {
  }

  /** The same bootstrap with TLS terminated on the listener (a DownstreamTlsContext with the bench certificate). */
  static String withTls(String yaml, BenchCert cert) {
    String tls = """
          - transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                common_tls_context:
                  alpn_protocols: [h2, http/1.1]
                  tls_certificates:
                  - certificate_chain: { filename: "%s" }
                    private_key: { filename: "%s" }
            filters:
      """.formatted(cert.cert(), cert.key());
    return yaml.replace("    - filters:\n", tls);
  }

  /**
   * Hop B of the two-hop scenarios: forwards to the upstream; with {@code certs}, its listener requires a client
   * certificate from the bench mesh CA whose URI SAN is proxy A's SPIFFE ID (a STRICT sidecar inbound).
   */
  static String twoHopB(int port, String upstreamHost, int upstreamPort, MeshBenchCerts certs) {
    String yaml = proxy(port, upstreamHost, upstreamPort);
    if (certs == null) {
      return yaml;
    }
    String tls = """
          - transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                require_client_certificate: true
                common_tls_context:
                  tls_certificates:
                  - certificate_chain: { filename: "%s" }
                    private_key: { filename: "%s" }
                  validation_context:
                    trusted_ca: { filename: "%s" }
                    match_typed_subject_alt_names:
                    - san_type: URI
                      matcher: { exact: "%s" }
            filters:
      """.formatted(certs.bCert(), certs.bKey(), certs.ca(), MeshBenchCerts.SPIFFE_A);
    return yaml.replace("    - filters:\n", tls);
  }

  /**
   * Hop A of the two-hop scenarios: forwards to hop B; with {@code certs}, the cluster originates TLS with proxy A's
   * client certificate and accepts only a server certificate from the bench mesh CA whose URI SAN is proxy B's
   * SPIFFE ID (a sidecar's outbound cluster under automatic mTLS).
   */
  static String twoHopA(int port, int hopBPort, MeshBenchCerts certs) {
    String yaml = proxy(port, "127.0.0.1", hopBPort);
    if (certs == null) {
      return yaml;
    }
    String tls = """
          connect_timeout: 1s
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
              sni: localhost
              common_tls_context:
                tls_certificates:
                - certificate_chain: { filename: "%s" }
                  private_key: { filename: "%s" }
                validation_context:
                  trusted_ca: { filename: "%s" }
                  match_typed_subject_alt_names:
                  - san_type: URI
                    matcher: { exact: "%s" }
      """.formatted(certs.aCert(), certs.aKey(), certs.ca(), MeshBenchCerts.SPIFFE_B);
    return yaml.replace("    connect_timeout: 1s\n", tls);
  }

  static String proxy(int port, String upstreamHost, int upstreamPort) {
    return proxy(port, upstreamHost, upstreamPort, null);
  }

  /**
   * @param accessLog when non-null, the same proxy observed: Envoy's default access log into this file and
   *                  tracing at 1% random sampling (propagation and sampling; no collector, so no export)
   */
  static String proxy(int port, String upstreamHost, int upstreamPort, java.nio.file.Path accessLog) {
    return proxy(port, upstreamHost, upstreamPort, accessLog, false);
  }

  /**
   * @param resilient the route retries (5xx, reset, connect-failure; 2 retries, previous hosts) and the
   *                  cluster has outlier detection, explicit circuit breakers and an active (TCP) health
   *                  check every second: the per-request
   *                  bookkeeping of docs/resilience.md is on, and never triggered by a healthy upstream
   */
  static String proxy(int port, String upstreamHost, int upstreamPort, java.nio.file.Path accessLog, boolean resilient) {
    String route = !resilient ? "route: { cluster: upstream }" : """
      route:
                          cluster: upstream
                          retry_policy:
                            retry_on: 5xx,reset,connect-failure
                            num_retries: 2
                            retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts }]""";
    String cluster = !resilient ? "" : """
          circuit_breakers:
            thresholds: [{ max_connections: 10000, max_pending_requests: 10000, max_requests: 10000, max_retries: 100 }]
          outlier_detection: { consecutive_5xx: 5, interval: 1s, base_ejection_time: 10s }
          health_checks:
          - { timeout: 1s, interval: 1s, no_traffic_interval: 1s, unhealthy_threshold: 3, healthy_threshold: 1, tcp_health_check: {} }
      """;
    String observed = accessLog == null ? "" : """
                access_log:
                - name: envoy.access_loggers.file
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                    path: %s
                tracing:
                  random_sampling: { value: 1 }
      """.formatted(accessLog);
    return """
      # Written by `keelson bench`; run with: bin/keelson proxy --config <this file> --concurrency 1
      static_resources:
        listeners:
        - name: bench
          address:
            socket_address: { address: 127.0.0.1, port_value: %d }
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: bench
      %s          route_config:
                  name: bench
                  virtual_hosts:
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      %s
                http_filters:
                - name: envoy.filters.http.router
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        clusters:
        - name: upstream
          type: STATIC
          connect_timeout: 1s
      %s    load_assignment:
            cluster_name: upstream
            endpoints:
            - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: %s, port_value: %d }
      """.formatted(port, observed, route, cluster, upstreamHost, upstreamPort);
  }
}
