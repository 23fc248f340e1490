package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.testing.ProxyHarness;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Translation of the envoy.filters.listener.proxy_protocol listener filter, and what is refused by path. */
class ProxyProtocolConfigTest {
  private static final String TCP_CHAIN = """
          - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: t
                cluster: c
      """;

  private static String filter(String config) {
    return """
            - name: envoy.filters.listener.proxy_protocol
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol
        """ + config.stripTrailing().indent(8);
  }

  private static String yaml(String listenerFilters) {
    return ProxyHarness.listener("edge", listenerFilters, TCP_CHAIN, ProxyHarness.cluster("c", "ROUND_ROBIN", 9));
  }

  private static ListenerConfig listener(String yaml) throws ConfigException {
    return BootstrapLoader.fromYaml(yaml, "config.yaml").listeners().getFirst();
  }

  private static String rejected(String yaml) {
    try {
      BootstrapLoader.fromYaml(yaml, "config.yaml");
    } catch (ConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("config was accepted:\n" + yaml);
  }

  @Test
  void translatesTheFilterWithEnvoysDefaults() throws Exception {
    var pp = listener(yaml(filter(""))).proxyProtocol();
    assertThat(pp.allowWithout()).isFalse();
    assertThat(pp.disallows(1)).isFalse();
    assertThat(pp.disallows(2)).isFalse();
    assertThat(pp.timeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(pp.statRoot()).isEqualTo("proxy_proto.");
    assertThat(listener(yaml("")).proxyProtocol()).isNull();
    assertThat(listener(yaml("    - name: envoy.filters.listener.proxy_protocol\n")).proxyProtocol()).isNotNull();
  }

  @Test
  void translatesItsFieldsAndTheListenerFiltersTimeout() throws Exception {
    var pp = listener(yaml(filter("""
        allow_requests_without_proxy_protocol: true
        disallowed_versions: [V1]
        stat_prefix: lb
        """) + "    listener_filters_timeout: 2s\n")).proxyProtocol();
    assertThat(pp.allowWithout()).isTrue();
    assertThat(pp.disallows(1)).isTrue();
    assertThat(pp.disallows(2)).isFalse();
    assertThat(pp.statRoot()).isEqualTo("proxy_proto.lb.");
    assertThat(pp.timeout()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void runsOnceForAListenerWhoseChainsAreSelectedByDestination() throws Exception {
    String chains = """
            - filter_chain_match: { destination_port: 443 }
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: t
                  cluster: c
        """;
    var l = listener(ProxyHarness.listener("edge", filter(""), chains, ProxyHarness.cluster("c", "ROUND_ROBIN", 9)));
    assertThat(l.proxyProtocol()).isNotNull();
    assertThat(l.destinationChains().all()).allSatisfy(c -> assertThat(c.proxyProtocol()).isNull());
  }

  @Test
  void refusesWhatItDoesNotRunByPath() {
    assertThat(rejected(yaml(filter("rules: [ { tlv_type: 5, on_tlv_present: { key: k } } ]"))))
        .contains("listener_filters[0].typed_config.rules");
    assertThat(rejected(yaml(filter("pass_through_tlvs: { match_type: INCLUDE_ALL }"))))
        .contains("listener_filters[0].typed_config.pass_through_tlvs");
    assertThat(rejected(yaml(filter("disallowed_versions: [V1, V2]"))))
        .contains("listener_filters[0].typed_config.disallowed_versions", "expected at most one");
    assertThat(rejected(yaml(filter("")) .replace("    filter_chains:", "    use_original_dst: true\n    filter_chains:")))
        .contains("use_original_dst", "proxy_protocol");
  }
}
