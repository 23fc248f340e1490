package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.QuicOptions;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.TestCa;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Envoy's HTTP/3 listener shape translated, and what Keelson does not run refused naming the field. */
class QuicListenerConfigTest {
  @TempDir static Path dir;
  static Path cert;
  static Path key;

  @BeforeAll
  static void certificates() throws Exception {
    cert = new TestCa("keelson-h3-config-ca").issue("proxy.test", "localhost").write(dir, "server");
    key = dir.resolve("server.key");
  }

  private static final String CLUSTERS = ProxyHarness.cluster("backend", "ROUND_ROBIN", 1);
  private static final String AT = "static_resources.listeners[0]";

  private static String quic(String quicOptions) {
    return QuicYaml.bootstrap(QuicYaml.listener("h3", 0, quicOptions, cert, key, ProxyHarness.allTo("backend"), "", ""),
        CLUSTERS);
  }

  private static ProxySnapshot load(String yaml) throws ConfigException {
    return BootstrapLoader.fromYaml(yaml, "h3.yaml");
  }

  @Test
  void translatesQuicOptionsWithEnvoysDefaults() throws Exception {
    ProxySnapshot defaults = load(quic("{}"));
    assertThat(defaults.quicListeners()).containsEntry("h3", QuicOptions.DEFAULT);
    assertThat(defaults.tcpListeners()).isEmpty();
    assertThat(defaults.listeners()).singleElement().satisfies(l -> {
      assertThat(l.http()).isNotNull();
      assertThat(l.tls().credentials()).isNotNull();
    });

    ProxySnapshot set = load(quic("{ idle_timeout: 45s, crypto_handshake_timeout: 5s,"
        + " quic_protocol_options: { max_concurrent_streams: 7 } }"));
    assertThat(set.quicListeners().get("h3"))
        .isEqualTo(new QuicOptions(Duration.ofSeconds(45), 7, Duration.ofSeconds(5)));
  }

  @Test
  void refusesAQuicListenerWithoutTls() {
    String yaml = quic("{}").replaceAll("(?s)    - transport_socket:.*?alpn_protocols: \\[h3\\]\n      ", "    - ");
    assertThat(yaml).doesNotContain("transport_socket");
    assertThatThrownBy(() -> load(yaml)).isInstanceOf(ConfigException.class)
        .hasMessageContaining(AT + ".filter_chains[0].transport_socket")
        .hasMessageContaining("QUIC always runs TLS 1.3");
  }

  @Test
  void refusesQuicOptionsItDoesNotHonourByField() {
    assertThatThrownBy(() -> load(quic("{ enabled: { default_value: false, runtime_key: k } }")))
        .hasMessageContaining(AT + ".udp_listener_config.quic_options.enabled")
        .hasMessageContaining("supported fields of QuicProtocolOptions: quic_protocol_options, idle_timeout,"
            + " crypto_handshake_timeout");
    assertThatThrownBy(() -> load(quic("{ quic_protocol_options: { initial_stream_window_size: 65536 } }")))
        .hasMessageContaining(AT + ".udp_listener_config.quic_options.quic_protocol_options.initial_stream_window_size");
    assertThatThrownBy(() -> load(quic("{}").replace("http3_protocol_options: {}",
        "http3_protocol_options: { allow_extended_connect: true }")))
        .hasMessageContaining("http3_protocol_options.allow_extended_connect");
  }

  @Test
  void refusesHttp3OnATcpListenerAndHttp1OnAQuicOne() {
    String tcp = ProxyHarness.withHcm(ProxyHarness.bootstrap(ProxyHarness.allTo("backend"), CLUSTERS), "codec_type: HTTP3");
    assertThatThrownBy(() -> load(tcp)).hasMessageContaining(
        AT + ".filter_chains[0].filters[0].typed_config.codec_type: HTTP3 needs a QUIC listener");
    assertThatThrownBy(() -> load(quic("{}").replace("codec_type: HTTP3", "codec_type: HTTP1")))
        .hasMessageContaining(AT + ".filter_chains[0].filters[0].typed_config.codec_type: HTTP1 on a QUIC listener");
  }

  @Test
  void refusesTwoQuicChainsWithTheSameServerNames() {
    String yaml = quic("{}");
    String chain = yaml.substring(yaml.indexOf("    - transport_socket:"), yaml.indexOf("  clusters:"));
    assertThatThrownBy(() -> load(yaml.replace(chain, chain + chain)))
        .hasMessageContaining(AT + ".filter_chains[1].filter_chain_match.server_names: QUIC listener 'h3': another"
            + " chain has the same server_names []");
  }
}
