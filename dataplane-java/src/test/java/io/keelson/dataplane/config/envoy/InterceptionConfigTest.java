package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/**
 * Istio-shaped interception config as Envoy's v3 API spells it: the original_dst listener filter, use_original_dst,
 * bind_to_port, chains selected by destination_port / prefix_ranges with a default_filter_chain, ORIGINAL_DST
 * clusters; and what is rejected, by field path.
 */
class InterceptionConfigTest {
  private static final String TCP = """
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: STAT
                        cluster: PassthroughCluster
      """;

  private static String tcp(String stat) {
    return TCP.replace("STAT", stat);
  }

  private static final String CLUSTERS = """
          clusters:
            - name: PassthroughCluster
              type: ORIGINAL_DST
              lb_policy: CLUSTER_PROVIDED
              cleanup_interval: 30s
              original_dst_lb_config: { use_http_header: true }
        """;

  private static String inbound(String chainMatch80, String extraChains) {
    return """
        static_resources:
          listeners:
            - name: virtualInbound
              address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
              use_original_dst: false
              listener_filters:
                - name: envoy.filters.listener.original_dst
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst }
              filter_chains:
                - name: port80
                  filter_chain_match: MATCH80
                  filters:
        T80
                - name: net10
                  filter_chain_match: { prefix_ranges: [ { address_prefix: 10.0.0.0, prefix_len: 8 } ], transport_protocol: raw_buffer }
                  filters:
        T10
                - name: net10_1
                  filter_chain_match: { prefix_ranges: [ { address_prefix: 10.1.0.0, prefix_len: 16 } ] }
                  filters:
        T101
        EXTRA
              default_filter_chain:
                name: catchall
                filters:
        TDEFAULT
            - name: 0.0.0.0_9080
              address: { socket_address: { address: 0.0.0.0, port_value: 9080 } }
              bind_to_port: false
              filter_chains:
                - filters:
        T9080
        """.replace("MATCH80", chainMatch80).replace("EXTRA\n", extraChains)
        .replace("T80\n", tcp("p80")).replace("T10\n", tcp("n10")).replace("T101\n", tcp("n101"))
        .replace("TDEFAULT\n", tcp("default").replace("                    ", "                  "))
        .replace("T9080\n", tcp("s9080")) + CLUSTERS;
  }

  private static ConfigException rejected(String yaml) {
    try {
      BootstrapLoader.fromYaml(yaml, "config.yaml");
    } catch (ConfigException e) {
      return e;
    }
    throw new AssertionError("config was accepted:\n" + yaml);
  }

  @Test
  void translatesChainsSelectedByDestinationAndTheInterceptionSettings() throws Exception {
    ProxySnapshot s = BootstrapLoader.fromYaml(inbound("{ destination_port: 80 }", ""), "config.yaml");
    assertThat(s.warnings()).isEmpty();
    ListenerConfig inbound = s.listeners().get(0);
    assertThat(inbound.originalDst()).isTrue();
    assertThat(inbound.useOriginalDst()).isFalse();
    assertThat(inbound.bindToPort()).isTrue();
    assertThat(inbound.http()).isNull();
    assertThat(inbound.tcpProxy()).isNull();
    var chains = inbound.destinationChains();
    assertThat(chains.all()).extracting(ListenerConfig::name).containsExactly(
        "virtualInbound/port80", "virtualInbound/net10", "virtualInbound/net10_1", "virtualInbound/catchall");
    // Envoy's order: the port first, then the longest prefix, then the default chain.
    assertThat(stat(chains.select(new InetSocketAddress("10.1.2.3", 80)))).isEqualTo("p80");
    assertThat(stat(chains.select(new InetSocketAddress("10.1.2.3", 81)))).isEqualTo("n101");
    assertThat(stat(chains.select(new InetSocketAddress("10.2.2.3", 81)))).isEqualTo("n10");
    assertThat(stat(chains.select(new InetSocketAddress("192.168.0.1", 81)))).isEqualTo("default");
    ListenerConfig service = s.listeners().get(1);
    assertThat(service.bindToPort()).isFalse();
    assertThat(service.originalDst()).isFalse();
    var cluster = s.cluster("PassthroughCluster");
    assertThat(cluster.isOriginalDst()).isTrue();
    assertThat(cluster.endpoints()).isEmpty();
    assertThat(cluster.originalDst().useHttpHeader()).isTrue();
    assertThat(cluster.originalDst().httpHeaderName()).isEqualTo("x-envoy-original-dst-host");
    assertThat(cluster.originalDst().cleanupInterval()).hasSeconds(30);
  }

  @Test
  void aPortNamedByAChainNeverFallsBackToChainsWithoutAPort() throws Exception {
    // Envoy does not backtrack: port 80 matches chain port80_net192 only by port; its prefix does not match 10.1.2.3,
    // so the connection gets the default chain, not net10_1 (which has no port).
    ProxySnapshot s = BootstrapLoader.fromYaml(inbound(
        "{ destination_port: 80, prefix_ranges: [ { address_prefix: 192.168.0.0, prefix_len: 16 } ] }", ""), "config.yaml");
    var chains = s.listeners().get(0).destinationChains();
    assertThat(stat(chains.select(new InetSocketAddress("10.1.2.3", 80)))).isEqualTo("default");
    assertThat(stat(chains.select(new InetSocketAddress("192.168.1.1", 80)))).isEqualTo("p80");
  }

  private static String stat(ListenerConfig chain) {
    return chain.tcpProxy().statPrefix();
  }

  @Test
  void rejectsBadDestinationCriteriaAndUnsupportedMatchFieldsByPath() {
    String bad = """
                - name: bad
                  filter_chain_match: { source_prefix_ranges: [ { address_prefix: 10.0.0.0, prefix_len: 8 } ], prefix_ranges: [ { address_prefix: not-an-ip } ] }
                  filters:
        """ + tcp("bad");
    assertThat(rejected(inbound("{ destination_port: 70000 }", bad)).problems()).containsExactlyInAnyOrder(
        "config.yaml: static_resources.listeners[0].filter_chains[3].filter_chain_match.source_prefix_ranges: not"
            + " supported by Keelson (chains are selected by destination_port, prefix_ranges, server_names,"
            + " transport_protocol and application_protocols only); supported fields of FilterChainMatch: server_names,"
            + " transport_protocol, destination_port, prefix_ranges, application_protocols",
        "config.yaml: static_resources.listeners[0].filter_chains[0].filter_chain_match.destination_port: 70000 is out"
            + " of range; expected 1-65535",
        "config.yaml: static_resources.listeners[0].filter_chains[3].filter_chain_match.prefix_ranges[0]: 'not-an-ip'"
            + " is not an IP address; expected an IP address_prefix and a prefix_len");
  }

  @Test
  void reportsAChainGroupsErrorsWhereTheChainIsInTheSource() {
    String badChain = """
                - name: broken
                  filter_chain_match: { destination_port: 8080 }
                  filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        cluster: PassthroughCluster
        """;
    assertThat(rejected(inbound("{ destination_port: 80 }", badChain)).problems()).containsExactly(
        "config.yaml: static_resources.listeners[0].filter_chains[3].filters[0].typed_config.stat_prefix: a stat_prefix"
            + " is required (Envoy requires it too)");
  }

  @Test
  void rejectsAnOriginalDstClusterWithAnotherLbPolicyOrTls() {
    String yaml = inbound("{ destination_port: 80 }", "").replace("lb_policy: CLUSTER_PROVIDED", "lb_policy: RANDOM");
    assertThat(rejected(yaml).problems()).containsExactly(
        "config.yaml: static_resources.clusters[0].lb_policy: RANDOM is not valid on an ORIGINAL_DST cluster; expected"
            + " CLUSTER_PROVIDED (Envoy rejects any other lb_policy there)");
  }

  @Test
  void rejectsOriginalDstLbConfigOnAnotherClusterType() {
    String yaml = inbound("{ destination_port: 80 }", "").replace("type: ORIGINAL_DST\n", "type: STATIC\n")
        .replace("lb_policy: CLUSTER_PROVIDED", "lb_policy: ROUND_ROBIN");
    assertThat(rejected(yaml).problems()).containsExactly(
        "config.yaml: static_resources.clusters[0].original_dst_lb_config: applies to type ORIGINAL_DST clusters only");
  }
}
