package io.keelson.dataplane.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.AdsSource;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import org.junit.jupiter.api.Test;

/** An Envoy bootstrap's dynamic_resources block configures the xDS client, with errors naming fields. */
class XdsBootstrapTest {
  private static final String ENVOY_STYLE = """
      node:
        id: product-v1-1
        cluster: product-service
        metadata: { version: v1 }
      dynamic_resources:
        ads_config:
          api_type: %s
          transport_api_version: V3
          grpc_services:
          - envoy_grpc: { cluster_name: xds_cluster }
        lds_config: { ads: {}, resource_api_version: V3 }
        cds_config: { ads: {}, resource_api_version: V3 }
      static_resources:
        clusters:
        - name: xds_cluster
          type: STATIC
          connect_timeout: 1s
          typed_extension_protocol_options:
            envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
              "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
              explicit_http_config: { http2_protocol_options: {} }
          load_assignment:
            cluster_name: xds_cluster
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 15010 } } }
      """;

  @Test
  void readsTheAdsServerAndNodeFromAnEnvoyStyleBootstrap() throws Exception {
    AdsSource source = BootstrapLoader.parseAdsSource(ENVOY_STYLE.formatted("GRPC"), "sidecar.yaml");
    XdsClientConfig config = XdsClientConfig.fromBootstrap(source);

    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(config.port()).isEqualTo(15010);
    assertThat(config.delta()).isFalse();
    assertThat(config.node().getId()).isEqualTo("product-v1-1");
    assertThat(config.node().getCluster()).isEqualTo("product-service");
    assertThat(config.node().getMetadata().getFieldsOrThrow("version").getStringValue()).isEqualTo("v1");
    // The ADS cluster is the control plane connection, not a cluster the proxy balances to.
    assertThat(config.staticResources().getClustersList()).isEmpty();
    assertThat(BootstrapLoader.parseBootstrap(ENVOY_STYLE.formatted("GRPC"), "sidecar.yaml").snapshot().clusters()).isEmpty();
  }

  @Test
  void deltaGrpcSelectsTheIncrementalProtocol() throws Exception {
    assertThat(XdsClientConfig.fromBootstrap(BootstrapLoader.parseAdsSource(ENVOY_STYLE.formatted("DELTA_GRPC"), "s.yaml"))
        .delta()).isTrue();
  }

  @Test
  void aBootstrapWithoutDynamicResourcesHasNoXdsSource() throws Exception {
    assertThat(BootstrapLoader.parseAdsSource("static_resources: {}\n", "static.yaml")).isNull();
  }

  @Test
  void namesTheFieldWhenTheAdsClusterIsMissing() {
    String yaml = ENVOY_STYLE.formatted("GRPC").replace("cluster_name: xds_cluster }", "cluster_name: control_plane }");
    assertThatThrownBy(() -> BootstrapLoader.parseAdsSource(yaml, "sidecar.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("sidecar.yaml: dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: "
            + "cluster 'control_plane' is not defined in static_resources.clusters; expected a STATIC cluster with the xDS server's address");
  }

  @Test
  void keepsRejectingRdsInAStaticListener() {
    String yaml = """
        static_resources:
          listeners:
          - name: ingress
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: ingress_http
                  rds: { route_config_name: local, config_source: { ads: {} } }
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
        """;
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "static.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("static.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.rds: "
            + "not supported by Keelson (rds needs an xDS source (dynamic_resources.ads_config); use an inline route_config)");
  }
}
