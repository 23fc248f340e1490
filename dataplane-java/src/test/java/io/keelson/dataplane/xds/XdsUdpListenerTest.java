package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.udp.UdpClient;
import io.keelson.dataplane.udp.UdpEchoServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A UDP listener delivered by LDS (its cluster's hosts by EDS) from java-control-plane, with real UDP sockets: it is
 * bound and relays, a host EDS removes loses its sessions, and a listener LDS removes is closed.
 */
class XdsUdpListenerTest {
  private static Listener udp(int port, String cluster) {
    UdpProxyConfig proxy = UdpProxyConfig.newBuilder().setStatPrefix("syslog").setCluster(cluster).build();
    return Listener.newBuilder().setName("udp")
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setProtocol(SocketAddress.Protocol.UDP)
            .setAddress("127.0.0.1").setPortValue(port)))
        .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.udp_listener.udp_proxy")
            .setTypedConfig(Any.pack(proxy)))
        .build();
  }

  @Test
  void aUdpListenerFromLdsRelaysFollowsEdsAndIsClosedWhenRemoved() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        UdpEchoServer a = new UdpEchoServer("a");
        UdpEchoServer b = new UdpEchoServer("b");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())), PipelineMode.INLINE);
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), false, Node.newBuilder().setId("udp").build()),
            proxy.server::install)) {
      int ingress = proxy.port();
      controlPlane.set(snapshot("1", List.of(edsCluster("v1"), edsCluster("echo")),
          List.of(endpoints("v1", v1.port(), 1), endpoints("echo", a.port(), 1)),
          List.of(listener(ingress), udp(0, "echo")), List.of(route("v1", "1"))));
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server.listenerListing().stream()
          .anyMatch(l -> l.startsWith("udp::")));
      int port = proxy.server.listenerAddress("udp").getPort();
      try (UdpClient c = new UdpClient("127.0.0.1", new InetSocketAddress("127.0.0.1", port))) {
        assertThat(c.ask("1")).isEqualTo("a:1");
        controlPlane.set(snapshot("2", List.of(edsCluster("v1"), edsCluster("echo")),
            List.of(endpoints("v1", v1.port(), 1), endpoints("echo", b.port(), 1)),
            List.of(listener(ingress), udp(port, "echo")), List.of(route("v1", "1"))));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(proxy.admin("/stats")).contains("udp.syslog.downstream_sess_active: 0"));
        assertThat(c.ask("2")).as("EDS removed a: the session ended, the client's next one is b's").isEqualTo("b:2");
        controlPlane.set(snapshot("3", List.of(edsCluster("v1"), edsCluster("echo")),
            List.of(endpoints("v1", v1.port(), 1), endpoints("echo", b.port(), 1)),
            List.of(listener(ingress)), List.of(route("v1", "1"))));
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server.listenerListing().stream()
            .noneMatch(l -> l.startsWith("udp::")));
        c.send("3");
        assertThat(c.receive(Duration.ofMillis(700))).isNull();
        assertThat(proxy.get("/").statusCode()).as("the HTTP listener serves on").isEqualTo(200);
      }
    }
  }
}
