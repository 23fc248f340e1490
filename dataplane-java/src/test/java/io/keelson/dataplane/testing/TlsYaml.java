package io.keelson.dataplane.testing;

import java.nio.file.Path;

/** Bootstrap YAML pieces for tests of TLS listeners and clusters. Stateless. */
public final class TlsYaml {
  /** The routes of {@link #httpsListener(Path, Path, String, String, String)}: every path to cluster "backend". */
  public static final String ALL_TO_BACKEND = """
                    - match: { prefix: "/" }
                      route: { cluster: backend }
      """;

  private TlsYaml() {}

  /**
   * One HTTP listener "ingress" on an ephemeral port with a DownstreamTlsContext, routing / to
   * cluster "backend".
   *
   * @param tlsExtra extra YAML under typed_config of the DownstreamTlsContext (indented 10 spaces), may be ""
   * @param common   extra YAML under common_tls_context (indented 12 spaces), may be ""
   */
  public static String httpsListener(Path cert, Path key, String tlsExtra, String common, String clusters) {
    return httpsListener(cert, key, tlsExtra, common, ALL_TO_BACKEND, clusters);
  }

  /** As {@link #httpsListener(Path, Path, String, String, String)}, with its own routes (items indented 14 spaces). */
  public static String httpsListener(Path cert, Path key, String tlsExtra, String common, String routes, String clusters) {
    return ProxyHarness.listener("ingress", "", httpsChain(null, cert, key, tlsExtra, common, routes), clusters);
  }

  /**
   * A TLS-or-plaintext listener "ingress" in Istio's PERMISSIVE shape: the TLS inspector, {@code tlsChain} (an
   * {@link #httpsChain} with {@code transport_protocol: tls}) and a {@code raw_buffer} chain running its filters.
   */
  public static String permissiveListener(String tlsChain, String clusters) {
    String plainChain = "    - filter_chain_match: { transport_protocol: raw_buffer }\n"
        + tlsChain.substring(tlsChain.indexOf("      filters:"));
    return ProxyHarness.listener("ingress", """
            - name: envoy.filters.listener.tls_inspector
              typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }
        """, tlsChain + plainChain, clusters);
  }

  /**
   * One filter_chains item (indented 4 spaces) terminating TLS with {@code cert} and running an HTTP
   * connection manager (stat_prefix ingress_https) with {@code routes}.
   *
   * @param serverNames the filter_chain_match's flow-mapping body (e.g. {@code server_names: ["a.test"]}), or null for none
   */
  public static String httpsChain(String serverNames, Path cert, Path key, String tlsExtra, String common, String routes) {
    String body = """
              transport_socket:
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
        %s
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        """.formatted(tlsExtra.stripTrailing(), cert, key, common.stripTrailing(), routes.stripTrailing());
    return serverNames == null ? "    - " + body.substring(6) : "    - filter_chain_match: { " + serverNames + " }\n" + body;
  }

  /**
   * A listener {@code name} on an ephemeral port whose TLS inspector selects among {@code chains}
   * (filter_chains items indented 4 spaces) by SNI.
   */
  public static String sniListener(String name, String chains, String clusters) {
    return ProxyHarness.listener(name, """
            - name: envoy.filters.listener.tls_inspector
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
        """, chains, clusters);
  }

  /**
   * A filter_chains item (indented 4 spaces) selected by SNI that passes TLS through untouched to
   * {@code cluster} with a tcp_proxy, after {@code filtersBefore} (filter items indented 6 spaces, may be "").
   */
  public static String passthroughChain(String serverNames, String filtersBefore, String statPrefix, String cluster) {
    return """
            - filter_chain_match: { %s }
              filters:
        %s
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: %s
                  cluster: %s
        """.formatted(serverNames, filtersBefore.stripTrailing(), statPrefix, cluster).replace("  filters:\n\n", "  filters:\n");
  }

  /** A cluster's transport_socket (indented 4 spaces, for a clusters item) originating TLS with {@code context} (fields indented 8). */
  public static String upstreamTls(String context) {
    return """
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        %s
        """.formatted(context.stripTrailing());
  }

  /** An UpstreamTlsContext body (fields indented 8 spaces) trusting {@code ca}; validation_context fields go after it, indented 12. */
  public static String trustingCa(Path ca) {
    return """
                common_tls_context:
                  validation_context:
                    trusted_ca: { filename: "%s" }
        """.formatted(ca);
  }

  /** A plaintext STATIC cluster "backend" on 127.0.0.1:port, optionally with an UpstreamTlsContext body (fields indented 8). */
  public static String cluster(int port, String upstreamTls) {
    String tls = upstreamTls == null ? "" : upstreamTls(upstreamTls);
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
