package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.testing.ProxyHarness;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Translation of http_inspector listeners: chains by application_protocols, the listener filter timeout, bad input. */
class HttpInspectorConfigTest {
  private static final String INSPECTOR = """
          - name: envoy.filters.listener.http_inspector
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector
      """;

  private static String chains(String protocols) {
    return """
            - name: http
              filter_chain_match: { application_protocols: %s }
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: h
                  cluster: c
            - name: tcp
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: t
                  cluster: c
        """.formatted(protocols);
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
  void translatesChainsByProtocolWithTheListenerFilterTimeout() throws Exception {
    String yaml = ProxyHarness.listener("auto", INSPECTOR + "    listener_filters_timeout: 0.25s\n"
        + "    continue_on_listener_filters_timeout: true\n", chains("[http/1.1, h2c]"), ProxyHarness.cluster("c", "ROUND_ROBIN", 9));
    var l = BootstrapLoader.fromYaml(yaml, "config.yaml").listeners().getFirst();
    var p = l.protocolChains();
    assertThat(p.timeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(p.continueOnTimeout()).isTrue();
    assertThat(p.select("h2c").name()).isEqualTo("auto/http");
    assertThat(p.select("http/1.0").name()).isEqualTo("auto/tcp"); // not listed: the chain for any
    assertThat(p.select(null).name()).isEqualTo("auto/tcp");
    assertThat(l.withChains()).extracting(c -> c.name()).containsExactly("auto", "auto/http", "auto/tcp");
  }

  @Test
  void envoysDefaultTimeoutIsFifteenSecondsAndClosing() throws Exception {
    String yaml = ProxyHarness.listener("auto", INSPECTOR, chains("[http/1.1]"), ProxyHarness.cluster("c", "ROUND_ROBIN", 9));
    var p = BootstrapLoader.fromYaml(yaml, "config.yaml").listeners().getFirst().protocolChains();
    assertThat(p.timeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(p.continueOnTimeout()).isFalse();
  }

  @Test
  void rejectsChainsByProtocolWithoutTheInspectorOrWithAProtocolItCannotDetect() {
    String cluster = ProxyHarness.cluster("c", "ROUND_ROBIN", 9);
    assertThat(rejected(ProxyHarness.listener("auto", "", chains("[http/1.1]"), cluster)).problems()).containsExactly(
        "config.yaml: static_resources.listeners[0].listener_filters: listener 'auto' selects filter chains by"
            + " application_protocols; expected the envoy.filters.listener.http_inspector listener filter");
    assertThat(rejected(ProxyHarness.listener("auto", INSPECTOR, chains("[istio-http/1.1]"), cluster)).problems())
        .containsExactly("config.yaml: static_resources.listeners[0].filter_chains[0].filter_chain_match"
            + ".application_protocols[0]: 'istio-http/1.1' is not a protocol the http_inspector detects; expected"
            + " one of http/1.0, http/1.1, h2c");
    String twoForAny = chains("[h2c]") + chains("[h2c]").substring(chains("[h2c]").indexOf("    - name: tcp"))
        .replace("name: tcp", "name: tcp2");
    assertThat(rejected(ProxyHarness.listener("auto", INSPECTOR, twoForAny, cluster)).problems()).containsExactly(
        "config.yaml: static_resources.listeners[0].filter_chains[2].filter_chain_match: listener 'auto': another chain"
            + " has the same transport_protocol and application_protocols []; expected each set once (Envoy rejects"
            + " duplicate matches)");
    String tlsWithoutInspector = chains("[istio-http/1.1]").replace("{ application_protocols:",
        "{ transport_protocol: tls, application_protocols:");
    assertThat(rejected(ProxyHarness.listener("auto", INSPECTOR, tlsWithoutInspector, cluster)).problems().getFirst())
        .startsWith("config.yaml: static_resources.listeners[0].filter_chains[0].filter_chain_match: listener 'auto':"
            + " chains selected by application_protocols must be plaintext")
        .contains("terminate TLS (transport_protocol tls with a transport_socket, and the listener runs"
            + " envoy.filters.listener.tls_inspector");
  }
}
