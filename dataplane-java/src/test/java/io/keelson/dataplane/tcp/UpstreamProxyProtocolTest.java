package io.keelson.dataplane.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.HaproxyProcess;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * envoy.transport_sockets.upstream_proxy_protocol on a tcp_proxy cluster, against a real HAProxy backend with
 * {@code accept-proxy} that answers with the client and destination addresses it read from the header.
 */
class UpstreamProxyProtocolTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  private static String cluster(int port, String version) {
    return ProxyHarness.cluster("hap", "ROUND_ROBIN", port) + """
            transport_socket:
              name: envoy.transport_sockets.upstream_proxy_protocol
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport
                config: { version: %s }
                transport_socket:
                  name: envoy.transport_sockets.raw_buffer
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
        """.formatted(version);
  }

  private static String tcpProxy(String clusters) {
    return ProxyHarness.listener("tcp", "", """
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: t
                  cluster: hap
        """, clusters);
  }

  private static String curlBody(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  @Test
  void tcpProxySendsTheDownstreamAddressesInAV1AndAV2Header() throws Exception {
    Assumptions.assumeTrue(HaproxyProcess.available(), "haproxy is not installed");
    HaproxyProcess backend = proxies.keep(new HaproxyProcess("""
        frontend echo
          mode http
          bind 127.0.0.1:%PORT% accept-proxy
          http-request return status 200 content-type text/plain lf-string "client=%ci dst=%fi:%fp"
        """));
    for (String version : List.of("V1", "V2")) {
      ProxyServer p = proxies.start(tcpProxy(cluster(backend.port(), version)), 1);
      int port = p.listenerAddress("tcp").getPort();
      assertThat(curlBody("--interface", "127.0.0.5", "http://127.0.0.1:" + port + "/")).as(version)
          .isEqualTo("client=127.0.0.5 dst=127.0.0.1:" + port);
    }
  }

  @Test
  void refusesHttpRoutesToAClusterWithTheSocketAndWhatItDoesNotSendByPath() {
    String http = ProxyHarness.bootstrap(ProxyHarness.allTo("hap"), cluster(9, "V2"));
    assertThat(rejected(http)).contains("clusters[0].transport_socket", "tcp_proxy only");
    assertThat(rejected(tcpProxy(cluster(9, "V2").replace("config: { version: V2 }",
        "config: { version: V2, added_tlvs: [ { type: 5, value: YQ== } ] }")))).contains("config.added_tlvs");
    assertThat(rejected(tcpProxy(cluster(9, "V1") + "      allow_unspecified_address: true\n")))
        .contains("allow_unspecified_address");
  }

  @Test
  void refusesEveryTunnelToAClusterWithTheSocketConnectOrPostHttp1OrHttp2() {
    for (String http2 : List.of("", "    http2_protocol_options: {}\n")) {
      for (String post : List.of("", ", use_post: true")) {
        String yaml = tcpProxy(cluster(9, "V2") + http2).replace("          cluster: hap\n",
            "          cluster: hap\n          tunneling_config: { hostname: \"x:443\"" + post + " }\n");
        assertThat(rejected(yaml)).as("http2=%s post=%s", !http2.isEmpty(), !post.isEmpty())
            .contains("filters[0].typed_config.tunneling_config", "tunnels over cluster 'hap'",
                "upstream_proxy_protocol transport socket");
      }
    }
  }

  private static String rejected(String yaml) {
    try {
      BootstrapLoader.fromYaml(yaml, "config.yaml");
    } catch (ConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("config was accepted:\n" + yaml);
  }
}
