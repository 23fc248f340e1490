package io.keelson.control.xds;

/** A proxy bootstrap with an "outbound" listener on an ephemeral port that answers 503 until xDS configures it. */
public final class OutboundBootstrap {
  private OutboundBootstrap() {}

  public static final String BOOTSTRAP = """
      static_resources:
        listeners:
        - name: outbound
          address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: outbound
                route_config:
                  name: boot
                  virtual_hosts:
                  - name: none
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      direct_response: { status: 503 }
                http_filters:
                - name: envoy.filters.http.router
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
      """;
}
