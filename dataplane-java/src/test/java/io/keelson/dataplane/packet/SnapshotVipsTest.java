package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gateway's VIPs come from the same Envoy bootstrap the proxy reads. */
class SnapshotVipsTest {
  private static final String BOOTSTRAP = """
      static_resources:
        listeners:
        - name: web-vip
          address: { socket_address: { address: 192.0.2.100, port_value: 80 } }
          filter_chains:
          - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: web
                cluster: web-backends
        - name: l7
          address: { socket_address: { address: 127.0.0.1, port_value: 8080 } }
          filter_chains:
          - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: l7
                route_config:
                  virtual_hosts:
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: l7-backends }
        clusters:
        - name: web-backends
          type: STATIC
          lb_policy: %s
          load_assignment:
            cluster_name: web-backends
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 10.1.0.11, port_value: 8080 } } }
                load_balancing_weight: 2
              - endpoint: { address: { socket_address: { address: 10.1.0.12, port_value: 8081 } } }
        - name: l7-backends
          type: STATIC
          load_assignment:
            cluster_name: l7-backends
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9000 } } }
      """;

  private static ProxySnapshot load(String policy) throws Exception {
    return BootstrapLoader.fromYaml(BOOTSTRAP.formatted(policy), "gateway-test.yaml");
  }

  @Test
  void tcpProxyListenerWithAMaglevClusterBecomesAVipWithWeightedBackends() throws Exception {
    GatewayConfig config = GatewayConfig.from(load("MAGLEV"),
        List.of(GatewayConfig.Interface.of(0, "192.0.2.1/24", "02:00:00:00:00:10", null),
            GatewayConfig.Interface.of(1, "10.1.0.1/24", "02:00:00:00:00:11", null)),
        "10.1.0.2").build();
    assertThat(config.vips()).containsExactly(new GatewayConfig.Vip("web-vip", Ipv4.parse("192.0.2.100"), 80,
        Ipv4.PROTO_TCP, List.of(GatewayConfig.Backend.of("10.1.0.11", 8080, 2), GatewayConfig.Backend.of("10.1.0.12", 8081, 1))));
    assertThat(config.maglev(0).entriesOf(0)).isBetween(43_690, 43_692); // 2/3 of 65,537
  }

  @Test
  void aNonMaglevClusterBehindTcpProxyIsRejectedByName() throws Exception {
    ProxySnapshot snapshot = load("ROUND_ROBIN");
    assertThatThrownBy(() -> GatewayConfig.vipsFrom(snapshot))
        .hasMessageContaining("cluster 'web-backends'")
        .hasMessageContaining("listener 'web-vip'")
        .hasMessageContaining("MAGLEV");
  }

  /**
   * The gateway and the socket proxy agree on which tcp_proxy listeners are VIPs ({@code TcpListeners}): a MAGLEV
   * listener at a specific address is a VIP and not served by sockets; the same on a wildcard address, or with
   * hash_policy source_ip, is the socket proxy's and the gateway skips it (it refused the whole bootstrap before);
   * a RING_HASH listener at a specific address is served by sockets and refused by the gateway by name.
   */
  @Test
  void theGatewayAndTheSocketProxySplitTcpListenersAlike() throws Exception {
    ProxySnapshot vip = load("MAGLEV");
    assertThat(GatewayConfig.vipsFrom(vip)).hasSize(1);
    assertThat(io.keelson.dataplane.tcp.TcpListeners.runsOnSocketPath(listener(vip, "web-vip"), vip)).isFalse();

    ProxySnapshot wildcard = BootstrapLoader.fromYaml(BOOTSTRAP.formatted("MAGLEV")
        .replace("address: 192.0.2.100, port_value: 80", "address: 0.0.0.0, port_value: 80"), "gateway-test.yaml");
    assertThat(GatewayConfig.vipsFrom(wildcard)).isEmpty();
    assertThat(io.keelson.dataplane.tcp.TcpListeners.runsOnSocketPath(listener(wildcard, "web-vip"), wildcard)).isTrue();

    ProxySnapshot hashed = BootstrapLoader.fromYaml(BOOTSTRAP.formatted("MAGLEV")
        .replace("stat_prefix: web\n", "stat_prefix: web\n          hash_policy: [ { source_ip: {} } ]\n"),
        "gateway-test.yaml");
    assertThat(GatewayConfig.vipsFrom(hashed)).isEmpty();
    assertThat(io.keelson.dataplane.tcp.TcpListeners.runsOnSocketPath(listener(hashed, "web-vip"), hashed)).isTrue();

    ProxySnapshot ring = load("RING_HASH");
    assertThat(io.keelson.dataplane.tcp.TcpListeners.runsOnSocketPath(listener(ring, "web-vip"), ring)).isTrue();
    assertThatThrownBy(() -> GatewayConfig.vipsFrom(ring)).hasMessageContaining("MAGLEV");
  }

  /**
   * The packet path neither reads nor writes PROXY protocol headers: a MAGLEV listener with the proxy_protocol listener
   * filter, or whose cluster has the upstream PROXY protocol socket, is the socket proxy's, not a gateway VIP.
   */
  @Test
  void proxyProtocolInOrOutKeepsAListenerOnTheSocketProxy() throws Exception {
    ProxySnapshot reading = BootstrapLoader.fromYaml(BOOTSTRAP.formatted("MAGLEV").replace(
        "  address: { socket_address: { address: 192.0.2.100, port_value: 80 } }\n", """
          address: { socket_address: { address: 192.0.2.100, port_value: 80 } }
          listener_filters:
          - name: envoy.filters.listener.proxy_protocol
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol }
        """.indent(2).substring(2)), "gateway-test.yaml");
    assertThat(listener(reading, "web-vip").proxyProtocol()).isNotNull();
    assertThat(GatewayConfig.vipsFrom(reading)).isEmpty();
    assertThat(io.keelson.dataplane.tcp.TcpListeners.runsOnSocketPath(listener(reading, "web-vip"), reading)).isTrue();

    ProxySnapshot writing = BootstrapLoader.fromYaml(BOOTSTRAP.formatted("MAGLEV").replace("    lb_policy: MAGLEV\n", """
            lb_policy: MAGLEV
            transport_socket:
              name: envoy.transport_sockets.upstream_proxy_protocol
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport
                config: { version: V2 }
                transport_socket:
                  name: envoy.transport_sockets.raw_buffer
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }
        """), "gateway-test.yaml");
    assertThat(writing.cluster("web-backends").proxyProtocolVersion()).isEqualTo(2);
    assertThat(GatewayConfig.vipsFrom(writing)).isEmpty();
    assertThat(io.keelson.dataplane.tcp.TcpListeners.runsOnSocketPath(listener(writing, "web-vip"), writing)).isTrue();
  }

  private static io.keelson.dataplane.config.ListenerConfig listener(ProxySnapshot s, String name) {
    return s.listeners().stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow();
  }
}
