package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.tcp.TcpProxyTest.tcpListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.connlimit.ConnectionLimitConfig;
import io.keelson.dataplane.filter.netratelimit.NetworkLocalRateLimitConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How local_ratelimit and connection_limit network filters are read, and what is refused by path. */
class TcpConnectionGatesConfigTest {
  private static final String FILTER = "static_resources.listeners[0].filter_chains[0].filters[0]";

  private static String yaml(String filter) {
    return tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", 1))
        .replace("      - name: envoy.filters.network.tcp_proxy\n", filter + "      - name: envoy.filters.network.tcp_proxy\n");
  }

  private static String rateLimit(String fields) {
    return """
              - name: envoy.filters.network.local_ratelimit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit
        """ + fields;
  }

  private static String connectionLimit(String fields) {
    return """
              - name: envoy.filters.network.connection_limit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
        """ + fields;
  }

  @Test
  void readsBothFiltersInChainOrder() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(yaml(connectionLimit("""
                  stat_prefix: cl
                  max_connections: 7
                  delay: 0.5s
        """) + rateLimit("""
                  stat_prefix: lr
                  token_bucket: { max_tokens: 3, fill_interval: 1s }
                  runtime_enabled: { default_value: false, runtime_key: x }
                  share_key: k
        """)), "g.yaml");
    var gates = snapshot.listeners().getFirst().tcpProxy().gates();
    assertThat(gates).hasSize(2);
    assertThat(gates.get(0)).isEqualTo(new ConnectionLimitConfig("cl", 7, Duration.ofMillis(500), true));
    var rl = (NetworkLocalRateLimitConfig) gates.get(1);
    assertThat(rl.bucket().maxTokens()).isEqualTo(3);
    assertThat(rl.bucket().tokensPerFill()).isEqualTo(1);
    assertThat(rl.enabled()).isFalse();
    assertThat(rl.shareKey()).isEqualTo("k");
  }

  @Test
  void refusesMissingRequiredFieldsByPath() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml(connectionLimit("          stat_prefix: cl\n")), "g.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(FILTER + ".typed_config.max_connections");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml(rateLimit("""
                  stat_prefix: lr
                  token_bucket: { max_tokens: 3, fill_interval: 0.01s }
        """)), "g.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(FILTER + ".typed_config.token_bucket.fill_interval");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml(rateLimit("""
                  stat_prefix: lr
                  token_bucket: { max_tokens: 3, fill_interval: 1s }
                  runtime_enabled: { runtime_key: x }
        """)), "g.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(FILTER + ".typed_config.runtime_enabled.default_value");
  }

  @Test
  void refusesTheFiltersInFrontOfAnHttpConnectionManager() {
    String hcm = io.keelson.dataplane.testing.ProxyHarness.bootstrap(
        io.keelson.dataplane.testing.ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", 1), "");
    String limited = hcm.replace("      - name: envoy.filters.network.http_connection_manager\n", connectionLimit("""
                  stat_prefix: cl
                  max_connections: 7
        """) + "      - name: envoy.filters.network.http_connection_manager\n");
    assertThat(limited).isNotEqualTo(hcm);
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(limited, "g.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("envoy.filters.network.connection_limit is supported in front of envoy.filters.network.tcp_proxy only");
  }

  @Test
  void aVipShapedListenerWithTheFiltersIsServedByTheSocketPathNotTheDpdkGateway() throws Exception {
    String vip = tcpListener("          cluster: a\n", cluster("a", "MAGLEV", 1)).replace("address: 127.0.0.1", "address: 192.0.2.10");
    var plain = BootstrapLoader.fromYaml(vip, "g.yaml");
    assertThat(TcpListeners.runsOnSocketPath(plain.listeners().getFirst(), plain)).isFalse();
    var limited = BootstrapLoader.fromYaml(vip.replace("      - name: envoy.filters.network.tcp_proxy\n",
        connectionLimit("          stat_prefix: cl\n          max_connections: 7\n")
            + "      - name: envoy.filters.network.tcp_proxy\n"), "g.yaml");
    assertThat(TcpListeners.runsOnSocketPath(limited.listeners().getFirst(), limited)).isTrue();
  }
}
