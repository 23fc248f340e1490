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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.QuicProtocolOptions;
import io.envoyproxy.envoy.config.listener.v3.UdpListenerConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HTTP/3 listener added and removed over LDS (a real ADS stream from the in-process control plane): bound and
 * served with its route from RDS, listed by /listeners, and on removal drained (its in-flight request finishes, then
 * its UDP socket is closed).
 */
class XdsQuicListenerTest {
  @TempDir Path dir;

  private Listener quicListener(int port, Path cert, Path key) throws Exception {
    HttpConnectionManager tcp = listener(0).getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    HttpConnectionManager h3 = tcp.toBuilder().setCodecType(HttpConnectionManager.CodecType.HTTP3)
        .setStatPrefix("h3").build();
    DownstreamTlsContext tls = DownstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .addTlsCertificates(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setFilename(cert.toString()))
            .setPrivateKey(DataSource.newBuilder().setFilename(key.toString())))
        .addAlpnProtocols("h3")).build();
    return Listener.newBuilder().setName("h3")
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
            .setProtocol(SocketAddress.Protocol.UDP).setAddress("127.0.0.1").setPortValue(port)))
        .setUdpListenerConfig(UdpListenerConfig.newBuilder().setQuicOptions(QuicProtocolOptions.getDefaultInstance()))
        .addFilterChains(FilterChain.newBuilder()
            .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.quic")
                .setTypedConfig(Any.pack(QuicDownstreamTransport.newBuilder().setDownstreamTlsContext(tls).build())))
            .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                .setTypedConfig(Any.pack(h3))))
        .build();
  }

  @Test
  void aQuicListenerAddedOverLdsServesHttp3AndIsDrainedWhenRemoved() throws Exception {
    TestCa ca = new TestCa("keelson-h3-lds-ca");
    Path cert = ca.issue("proxy.test", "localhost").write(dir, "server");
    Path key = dir.resolve("server.key");
    int udpPort;
    try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      udpPort = s.getLocalPort();
    }
    try (TestUpstream v1 = new TestUpstream("v1");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())),
            PipelineMode.INLINE, null, Duration.ofSeconds(30));
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), false, Node.newBuilder().setId("h3").build()),
            proxy.server::install)) {
      Listener h3 = quicListener(udpPort, cert, key);
      push(controlPlane, client, "1", v1, listener(proxy.port()), h3);
      assertThat(proxy.server.listenerListing()).contains("h3::127.0.0.1:" + udpPort);
      assertThat(proxy.admin("/listeners")).contains("h3::127.0.0.1:" + udpPort);

      H3Client h3Client = new H3Client(udpPort);
      try {
        H3Client.Response first = h3Client.send("GET", "/over-lds").get(30, TimeUnit.SECONDS);
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.headers()).containsEntry("x-upstream", "v1");

        // Removed while a request is in flight on it: the request finishes on the old snapshot, then the socket closes.
        // Meanwhile the draining socket takes no new connection (Envoy's listener stops accepting when removed).
        CompletableFuture<H3Client.Response> inFlight = h3Client.send("GET", "/delay/8000");
        await().atMost(Duration.ofSeconds(10)).until(() -> v1.requestLines.stream().anyMatch(l -> l.contains("/delay/8000")));
        push(controlPlane, client, "2", v1, listener(proxy.port()));
        assertThat(proxy.server.listenerListing()).noneMatch(l -> l.startsWith("h3::"));
        assertThatThrownBy(() -> {
          try (H3Client late = new H3Client(udpPort)) {
            late.send("GET", "/after-removal").get(20, TimeUnit.SECONDS);
          }
        }).as("a request on a new connection to the draining listener").isNotNull();
        assertThat(v1.requestLines).noneMatch(l -> l.contains("/after-removal"));
        assertThat(inFlight).as("the drain still waits for the in-flight stream").isNotDone();
        H3Client.Response finished = inFlight.get(30, TimeUnit.SECONDS);
        assertThat(finished.status()).isEqualTo(200);
        assertThat(finished.bodyText()).startsWith("GET /delay/8000");
      } finally {
        h3Client.close();
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> udpPortFree(udpPort));
      assertThat(proxy.get("/tcp-still-served").statusCode()).isEqualTo(200);
      assertThat(client.stats().rejected(ResourceType.LISTENER)).isZero();
    }
  }

  private static boolean udpPortFree(int port) {
    try (DatagramSocket s = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (java.net.SocketException e) {
      return false;
    }
  }

  private static void push(JavaControlPlane cp, XdsClient client, String version, TestUpstream v1, Listener... listeners) {
    cp.set(snapshot(version, List.of(edsCluster("v1")), List.of(endpoints("v1", v1.port(), 1)), List.of(listeners),
        List.of(route("v1", "1"))));
    await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
        && client.lastSnapshot().version().contains("LDS=" + version));
  }
}
