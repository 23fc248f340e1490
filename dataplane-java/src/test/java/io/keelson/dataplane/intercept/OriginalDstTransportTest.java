package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.transport.Transport;
import org.junit.jupiter.api.Test;

/** The original_dst listener filter needs a socket's file descriptor: on NIO the proxy refuses to start, saying why. */
class OriginalDstTransportTest {
  @Test
  void nioRefusesAListenerWithTheOriginalDstFilter() throws Exception {
    var snapshot = BootstrapLoader.fromYaml("""
        static_resources:
          listeners:
            - name: virtualOutbound
              address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
              use_original_dst: true
              listener_filters:
                - name: envoy.filters.listener.original_dst
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: passthrough
                        cluster: PassthroughCluster
          clusters:
            - name: PassthroughCluster
              type: ORIGINAL_DST
              lb_policy: CLUSTER_PROVIDED
        """, "config.yaml");
    var options = ProxyOptions.defaults().withTransport(Transport.NIO).withConcurrency(1).withAdmin(null, 0);
    ProxyServer server = new ProxyServer(snapshot, options);
    assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class)
        .hasMessage("listener 'virtualOutbound' has the envoy.filters.listener.original_dst listener filter, which"
            + " transport nio cannot run: envoy.filters.listener.original_dst reads SO_ORIGINAL_DST from the socket's"
            + " file descriptor, which the NIO transport does not expose; run the proxy with --transport epoll or io_uring");
    server.close();
  }
}
