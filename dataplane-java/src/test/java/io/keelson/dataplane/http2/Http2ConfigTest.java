package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.testing.ProxyHarness;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Envoy's http2_protocol_options on the connection manager and the cluster, translated and checked. */
class Http2ConfigTest {
  private static final String VHOSTS = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/", grpc: {} }
                        route: { cluster: backend }
        """;

  @Test
  void connectionManagerAndClusterOptionsAreTranslated() throws Exception {
    String cluster = ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999).replace("    type: STATIC\n", """
            type: STATIC
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                explicit_http_config:
                  http2_protocol_options: { max_concurrent_streams: 7, initial_stream_window_size: 131072 }
        """);
    String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(VHOSTS, cluster), "stream_idle_timeout: 2s",
        "http2_protocol_options: { max_concurrent_streams: 8, initial_connection_window_size: 1048576 }");
    ProxySnapshot s = BootstrapLoader.fromYaml(yaml, "t.yaml");
    var hcm = s.listeners().get(0).http();
    assertThat(hcm.http2()).isEqualTo(new Http2Options(8, Http2Options.DEFAULT.initialStreamWindowSize(), 1048576));
    assertThat(hcm.streamIdleTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(s.clusters().get("backend").http2()).isEqualTo(new Http2Options(7, 131072, Http2Options.DEFAULT.initialConnectionWindowSize()));
  }

  @Test
  void theRuntimesPrematureResetKeysReachEveryConnectionManager() throws Exception {
    String yaml = """
        layered_runtime:
          layers:
          - name: base
            static_layer:
              overload.premature_reset_total_stream_count: 40
              overload.premature_reset_min_stream_lifetime_seconds: 3
              some.other.key: true
          - name: override
            static_layer: { overload.premature_reset_total_stream_count: "60" }
        """ + ProxyHarness.withHcm(ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999)),
        "http2_protocol_options: { max_concurrent_streams: 8 }");
    ProxySnapshot s = BootstrapLoader.fromYaml(yaml, "t.yaml");
    Http2Options h2 = s.listeners().get(0).http().http2();
    assertThat(h2.maxConcurrentStreams()).isEqualTo(8);
    assertThat(h2.prematureResetTotalStreamCount()).isEqualTo(60);
    assertThat(h2.prematureResetMinStreamLifetimeSeconds()).isEqualTo(3);
    assertThat(s.warnings()).containsExactly("t.yaml: layered_runtime.layers[0].static_layer.some.other.key: ignored: "
        + "Keelson reads only overload.premature_reset_total_stream_count and "
        + "overload.premature_reset_min_stream_lifetime_seconds from the runtime");
    // without a runtime: Envoy's defaults
    Http2Options plain = BootstrapLoader.fromYaml(ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999)),
        "t.yaml").listeners().get(0).http().http2();
    assertThat(plain.prematureResetTotalStreamCount()).isEqualTo(500);
    assertThat(plain.prematureResetMinStreamLifetimeSeconds()).isEqualTo(1);
  }

  /** Envoy flattens a static layer's nested maps into dotted keys; both spellings reach the same settings. */
  @Test
  void theRuntimesKeysMayBeNestedMaps() throws Exception {
    String yaml = """
        layered_runtime:
          layers:
          - name: base
            static_layer:
              overload:
                premature_reset_total_stream_count: 40
                premature_reset_min_stream_lifetime_seconds: 3
        """ + ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999));
    ProxySnapshot s = BootstrapLoader.fromYaml(yaml, "t.yaml");
    Http2Options h2 = s.listeners().get(0).http().http2();
    assertThat(h2.prematureResetTotalStreamCount()).isEqualTo(40);
    assertThat(h2.prematureResetMinStreamLifetimeSeconds()).isEqualTo(3);
    assertThat(s.warnings()).isEmpty();
  }

  @Test
  void aPrematureResetCountThatIsNotAPositiveWholeNumberIsRejectedByName() {
    String yaml = """
        layered_runtime:
          layers:
          - name: base
            static_layer: { overload.premature_reset_total_stream_count: 0 }
        """ + ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999));
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("layered_runtime.layers[0].static_layer.overload.premature_reset_total_stream_count")
        .hasMessageContaining("expected a whole number from 1 to 2147483647");
  }

  @Test
  void aClusterWithoutHttp2OptionsStaysHttp1() throws Exception {
    ProxySnapshot s = BootstrapLoader.fromYaml(ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999)), "t.yaml");
    assertThat(s.clusters().get("backend").http2Upstream()).isFalse();
  }

  @Test
  void aWindowBelowTheProtocolMinimumIsRejectedByName() {
    String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999)),
        "http2_protocol_options: { initial_stream_window_size: 100 }");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http2_protocol_options.initial_stream_window_size")
        .hasMessageContaining("expected 65535-2147483647");
  }

  private static String keepaliveCluster(String keepalive) {
    return ProxyHarness.cluster("backend", "ROUND_ROBIN", 9999).replace("    type: STATIC\n", """
            type: STATIC
            http2_protocol_options: { connection_keepalive: %s }
        """.formatted(keepalive));
  }

  @Test
  void clusterConnectionKeepaliveIsTranslated() throws Exception {
    ProxySnapshot s = BootstrapLoader.fromYaml(ProxyHarness.bootstrap(VHOSTS,
        keepaliveCluster("{ interval: 10s, timeout: 2s, interval_jitter: { value: 15 } }")), "t.yaml");
    assertThat(s.clusters().get("backend").http2().keepaliveInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.clusters().get("backend").http2().keepaliveTimeout()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void aKeepaliveWithoutTimeoutIsRejectedByName() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(ProxyHarness.bootstrap(VHOSTS, keepaliveCluster("{ interval: 10s }")), "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http2_protocol_options.connection_keepalive.timeout");
  }
}
