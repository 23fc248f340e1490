package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** IPv6 VIPs from the Envoy bootstrap: a tcp_proxy listener on [2001:db8::10]:80 over a MAGLEV cluster of IPv6 endpoints. */
class SnapshotVips6Test {
  private static final String BOOTSTRAP = """
      static_resources:
        listeners:
        - name: web-vip6
          address: { socket_address: { address: "2001:db8::10", port_value: 80 } }
          filter_chains:
          - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: web6
                cluster: web6
        - name: web-vip4
          address: { socket_address: { address: 192.0.2.100, port_value: 80 } }
          filter_chains:
          - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: web4
                cluster: web4
        clusters:
        - name: web6
          type: STATIC
          lb_policy: MAGLEV
          load_assignment:
            cluster_name: web6
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: "%s", port_value: 8080 } } }
              - endpoint: { address: { socket_address: { address: "2001:db8:2::12", port_value: 8080 } } }
                load_balancing_weight: 3
        - name: web4
          type: STATIC
          lb_policy: MAGLEV
          load_assignment:
            cluster_name: web4
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 10.1.0.11, port_value: 8080 } } }
      """;

  private static ProxySnapshot load(String firstEndpoint) throws Exception {
    return BootstrapLoader.fromYaml(BOOTSTRAP.formatted(firstEndpoint), "gateway6-test.yaml");
  }

  @Test
  void ipv6ListenerBecomesAnIpv6VipNextToTheIpv4One() throws Exception {
    ProxySnapshot snapshot = load("2001:db8:2::11");
    GatewayConfig config = GatewayConfig.from(snapshot,
            List.of(GatewayConfig.Interface.of(0, "192.0.2.1/24", "02:00:00:00:00:10", null),
                GatewayConfig.Interface.of(1, "10.1.0.1/24", "02:00:00:00:00:11", null)), "10.1.0.2")
        .addInterface6(Ipv6Config.Interface6.of(0, "2001:db8:1::1/64"))
        .addInterface6(Ipv6Config.Interface6.of(1, "2001:db8:2::1/64"))
        .addSnatAddress6("2001:db8:2::2")
        .build();
    assertThat(config.vips()).extracting(GatewayConfig.Vip::name).containsExactly("web-vip4");
    assertThat(config.ipv6().vips()).containsExactly(new Ipv6Config.Vip6("web-vip6", Ipv6.Address.parse("2001:db8::10"),
        80, Ipv4.PROTO_TCP, List.of(Ipv6Config.Backend6.of("2001:db8:2::11", 8080, 1),
            Ipv6Config.Backend6.of("2001:db8:2::12", 8080, 3))));
    assertThat(config.ipv6().maglev(0).entriesOf(1)).isBetween(49_150, 49_155); // 3/4 of 65,537
  }

  @Test
  void refusesAnIpv6VipWithIpv4EndpointsNamingTheEndpoint() throws Exception {
    assertThatThrownBy(() -> GatewayConfig.vips6From(load("10.1.0.11")))
        .hasMessageContaining("cluster 'web6' endpoint 0")
        .hasMessageContaining("not an IPv6 literal")
        .hasMessageContaining("listener 'web-vip6'");
  }

  @Test
  void refusesIpv6VipsWithoutAnIpv6InterfaceOrSnatAddress() throws Exception {
    ProxySnapshot snapshot = load("2001:db8:2::11");
    assertThatThrownBy(() -> GatewayConfig.from(snapshot,
            List.of(GatewayConfig.Interface.of(0, "192.0.2.1/24", "02:00:00:00:00:10", null)), "192.0.2.2").build())
        .hasMessageContaining("IPv6 VIP 'web-vip6'")
        .hasMessageContaining("--port-ip6");
  }
}
