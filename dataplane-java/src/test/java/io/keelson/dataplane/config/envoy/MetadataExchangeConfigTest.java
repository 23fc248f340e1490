package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Istio's TCP metadata exchange filter as istiod writes it (a TypedStruct of
 * {@code envoy.tcp.metadataexchange.config.MetadataExchange}) on a cluster's {@code filters} and in front of a
 * tcp_proxy: read into the protocol the connections exchange under, anything else refused by field path.
 */
class MetadataExchangeConfigTest {
  private static final String BASE = BootstrapLoaderTest.fixture("front-proxy.yaml");
  private static final String CLUSTER = "  - name: service_v1\n    type: STATIC\n";

  private static String mx(String indent, String name, String value) {
    return (indent + "- name: " + name + "\n"
        + indent + "  typed_config:\n"
        + indent + "    \"@type\": type.googleapis.com/xds.type.v3.TypedStruct\n"
        + indent + "    type_url: type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange\n"
        + indent + "    value: " + value + "\n");
  }

  private static String withClusterFilter(String filter) {
    assertThat(BASE).contains(CLUSTER);
    return BASE.replace(CLUSTER, CLUSTER + "    filters:\n" + filter);
  }

  @Test
  void istiodsClusterFilterGivesTheProtocol() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(withClusterFilter(mx("    ", "istio.metadata_exchange",
        "{ protocol: istio-peer-exchange, enable_discovery: true }")), "config.yaml");
    assertThat(snapshot.clusters().get("service_v1").peerExchangeProtocol()).isEqualTo("istio-peer-exchange");
    assertThat(snapshot.clusters().get("gateway_pool").peerExchangeProtocol()).isNull();
  }

  @Test
  void whatKeelsonDoesNotDoIsRefusedByFieldPath() {
    String at = "config.yaml: static_resources.clusters[0].filters[0]";
    assertThat(BootstrapRejectionTest.rejected(withClusterFilter(mx("    ", "istio.metadata_exchange",
        "{ protocol: istio-peer-exchange, additional_labels: [ role ] }"))).problems()).containsExactly(
        at + ".typed_config.value.additional_labels: is not supported; expected only protocol and enable_discovery");
    assertThat(BootstrapRejectionTest.rejected(withClusterFilter(mx("    ", "istio.metadata_exchange",
        "{ enable_discovery: true }"))).problems()).containsExactly(
        at + ".typed_config.value.protocol: is required (istio/proxy asserts it); expected the ALPN protocol, "
            + "istio-peer-exchange");
    assertThat(BootstrapRejectionTest.rejected(withClusterFilter("""
            - name: envoy.filters.network.upstream.other
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: x
        """)).problems()).containsExactly(
        at + ": cluster 'service_v1': upstream network filter 'envoy.filters.network.upstream.other' is not supported;"
            + " expected only Istio's metadata exchange (typed_config envoy.tcp.metadataexchange.config.MetadataExchange)");
    String tcp = "      - name: envoy.filters.network.tcp_proxy\n";
    assertThat(BASE).contains(tcp);
    assertThat(BootstrapRejectionTest.rejected(BASE.replace(tcp, mx("      ", "istio.metadata_exchange",
        "{ protocol: istio-peer-exchange }") + tcp)).problems()).containsExactly(
        "config.yaml: static_resources.listeners[1].filter_chains[0].filters: listener 'listener_tcp': the "
            + "metadata_exchange network filter is supported on a TLS chain (transport_socket) in front of "
            + "envoy.filters.network.tcp_proxy only; HTTP exchanges metadata in headers");
  }
}
