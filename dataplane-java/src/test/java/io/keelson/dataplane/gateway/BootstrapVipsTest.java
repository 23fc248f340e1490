package io.keelson.dataplane.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.packet.GatewayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapVipsTest {
  private static final String BOOTSTRAP = """
      static_resources:
        listeners:
          - name: web-vip
            address: { socket_address: { address: 10.0.0.100, port_value: 443 } }
            filter_chains:
              - filters:
                  - name: envoy.filters.network.tcp_proxy
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                      stat_prefix: web
                      cluster: web
          - name: l7
            address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
            filter_chains:
              - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: l7
                      route_config: { name: r, virtual_hosts: [ { name: all, domains: ["*"], routes: [ { match: { prefix: "/" }, route: { cluster: l7 } } ] } ] }
        clusters:
          - name: l7
            lb_policy: ROUND_ROBIN
            load_assignment:
              cluster_name: l7
              endpoints:
                - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 10.2.0.1, port_value: 80 } } }
          - name: web
            lb_policy: MAGLEV
            load_assignment:
              cluster_name: web
              endpoints:
                - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 10.1.0.1, port_value: 8443 } } }
                      load_balancing_weight: 3
                    - endpoint: { address: { socket_address: { address: 10.1.0.2, port_value: 8443 } } }
      """;

  @Test
  void tcpProxyListenerOnMaglevClusterBecomesAVipAndHttpListenersAreLeftToTheProxy(@TempDir Path dir)
      throws IOException {
    List<GatewayConfig.Vip> vips = BootstrapVips.load(write(dir, BOOTSTRAP)).ipv4();
    assertThat(vips).hasSize(1);
    GatewayConfig.Vip vip = vips.get(0);
    assertThat(vip.name()).isEqualTo("web-vip");
    assertThat(vip.ip()).isEqualTo((10 << 24) | 100);
    assertThat(vip.port()).isEqualTo(443);
    assertThat(vip.protocol()).isEqualTo(6);
    assertThat(vip.backends()).extracting(GatewayConfig.Backend::weight).containsExactly(3, 1);
    assertThat(vip.backends()).extracting(GatewayConfig.Backend::port).containsExactly(8443, 8443);
  }

  @Test
  void nonMaglevClusterIsRejectedNamingTheFix(@TempDir Path dir) throws IOException {
    Path file = write(dir, BOOTSTRAP.replace("lb_policy: MAGLEV", "lb_policy: ROUND_ROBIN"));
    assertThatThrownBy(() -> BootstrapVips.load(file))
        .hasMessageContaining(file.getFileName().toString())
        .hasMessageContaining("cluster 'web'")
        .hasMessageContaining("lb_policy is ROUND_ROBIN")
        .hasMessageContaining("MAGLEV");
  }

  @Test
  void missingClusterAndBadAddressNameTheFieldPath(@TempDir Path dir) throws IOException {
    Path noCluster = write(dir, BOOTSTRAP.replace(" cluster: web\n", " cluster: nope\n"));
    assertThatThrownBy(() -> BootstrapVips.load(noCluster))
        .hasMessageContaining(noCluster.getFileName().toString())
        .hasMessageContaining("nope");
    Path badIp = write(dir, BOOTSTRAP.replace("10.0.0.100", "10.0.0.300"));
    assertThatThrownBy(() -> BootstrapVips.load(badIp))
        .hasMessageContaining(badIp.getFileName().toString())
        .hasMessageContaining("10.0.0.300");
  }

  @Test
  void bootstrapWithoutVipSaysSo(@TempDir Path dir) throws IOException {
    Path file = write(dir, "static_resources: { listeners: [], clusters: [] }\n");
    assertThatThrownBy(() -> BootstrapVips.load(file)).hasMessageContaining("no listener with envoy.filters.network.tcp_proxy");
  }

  private static Path write(Path dir, String yaml) throws IOException {
    Path file = Files.createTempFile(dir, "bootstrap", ".yaml");
    Files.writeString(file, yaml);
    return file;
  }
}
