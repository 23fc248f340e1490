package io.keelson.dataplane.tls;

import java.nio.file.Path;

/** Bootstrap YAML pieces for TLS tests. Stateless. */
final class TlsYaml {
  private TlsYaml() {}

  /**
   * One HTTP listener "ingress" on an ephemeral port with a DownstreamTlsContext, routing / to
   * cluster "backend".
   *
   * @param tlsExtra extra YAML under typed_config of the DownstreamTlsContext (indented 10 spaces), may be ""
   * @param common   extra YAML under common_tls_context (indented 12 spaces), may be ""
   */
  static String httpsListener(Path cert, Path key, String tlsExtra, String common, String clusters) {
    return """
        static_resources:
          listeners:
          - name: ingress
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
        %s
                  common_tls_context:
                    tls_certificates:
                    - certificate_chain: { filename: "%s" }
                      private_key: { filename: "%s" }
        %s
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: ingress_https
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: backend }
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          clusters:
        %s
        """.formatted(tlsExtra.stripTrailing(), cert, key, common.stripTrailing(), clusters.stripTrailing());
  }

  /** A plaintext STATIC cluster "backend" on 127.0.0.1:port, optionally with an UpstreamTlsContext body (fields indented 8). */
  static String cluster(int port, String upstreamTls) {
    String tls = upstreamTls == null ? "" : """
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        %s
        """.formatted(upstreamTls.stripTrailing());
    return """
          - name: backend
            connect_timeout: 2s
            type: STATIC
            lb_policy: ROUND_ROBIN
            load_assignment:
              cluster_name: backend
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        %s""".formatted(port, tls);
  }
}
