package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Ports with no declared protocol (AUTO): what the registry parser makes of them, and istiod's detection shape on a
 * captured sidecar's listeners (http_inspector, HTTP and tcp_proxy chain pairs) beside an HTTP port's unchanged one.
 */
class DetectedProtocolTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { port: 9080 }, { name: web, port: 9081 }, { name: http-api, port: 9082 }, { name: tcp-db, port: 9083 } ]
      """;

  @Test
  void aPortWithoutProtocolNameOrAppProtocolIsAutoAndRoutedAsHttp() throws Exception {
    Policy.Service s = (Policy.Service) PolicyParser.parse("s.yaml", SERVICES).policies().getFirst();
    assertThat(s.protocol(9080)).isEqualTo(Policy.Protocol.AUTO);
    assertThat(s.protocol(9081)).as("a name that is no protocol").isEqualTo(Policy.Protocol.AUTO);
    assertThat(s.protocol(9082)).isEqualTo(Policy.Protocol.HTTP);
    assertThat(s.protocol(9083)).isEqualTo(Policy.Protocol.TCP);
    assertThat(Policy.Protocol.AUTO.http()).isTrue();
    assertThat(Policy.Protocol.AUTO.label()).isEqualTo("auto");
    assertThat(Policy.Protocol.byIstioName("auto")).as("not a name a document can give").isNull();
  }

  @Test
  void aCapturedSidecarDetectsHttpOnAutoPortsOutboundAndInbound() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("s.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient captured = client(xds, node())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().containsKey("reviews-10.1.0.7"));
      MeshResources r = xds.resourcesFor("reviews-10.1.0.7");

      Listener auto = CapturedTranslationTest.listener(r, "0.0.0.0_9080");
      assertThat(auto.getListenerFiltersList()).extracting(f -> f.getName())
          .containsExactly("envoy.filters.listener.http_inspector");
      assertThat(auto.hasListenerFiltersTimeout()).as("set: unset is Envoy's 15 s").isTrue();
      assertThat(auto.getListenerFiltersTimeout()).as("Istio's default protocolDetectionTimeout: none")
          .isEqualTo(com.google.protobuf.Duration.getDefaultInstance());
      assertThat(auto.getContinueOnListenerFiltersTimeout()).isTrue();
      List<FilterChain> chains = auto.getFilterChainsList();
      assertThat(chains).hasSize(4);
      String vip = chains.get(0).getFilterChainMatch().getPrefixRanges(0).getAddressPrefix();
      assertThat(chains.get(0).getFilterChainMatch().getApplicationProtocolsList()).containsExactly("http/1.0", "http/1.1", "h2c");
      assertThat(chains.get(0).getFilters(0).getName()).isEqualTo("envoy.filters.network.http_connection_manager");
      assertThat(chains.get(1).getFilterChainMatch().getPrefixRanges(0).getAddressPrefix()).isEqualTo(vip);
      assertThat(chains.get(1).getFilterChainMatch().getApplicationProtocolsCount()).isZero();
      assertThat(tcpProxy(chains.get(1)).getCluster()).isEqualTo("reviews");
      assertThat(chains.get(2).getFilterChainMatch().getPrefixRangesCount()).isZero();
      assertThat(chains.get(2).getFilterChainMatch().getApplicationProtocolsList()).containsExactly("http/1.0", "http/1.1", "h2c");
      assertThat(chains.get(2).getFilters(0)).isEqualTo(chains.get(0).getFilters(0));
      assertThat(chains.get(3).getName()).isEqualTo(CapturedListeners.PASSTHROUGH_CHAIN);

      Listener http = CapturedTranslationTest.listener(r, "0.0.0.0_9082");
      assertThat(http.getListenerFiltersCount()).as("a declared HTTP port is not sniffed").isZero();
      assertThat(http.getFilterChainsList()).allSatisfy(c ->
          assertThat(c.getFilterChainMatch().getApplicationProtocolsCount()).isZero());

      Listener inbound = CapturedTranslationTest.listener(r, "virtualInbound");
      assertThat(inbound.getListenerFiltersList()).extracting(f -> f.getName())
          .contains("envoy.filters.listener.http_inspector");
      FilterChain appHttp = inbound.getFilterChainsList().stream().filter(c -> c.getName().equals("inbound|9080"))
          .findFirst().orElseThrow();
      assertThat(inbound.hasListenerFiltersTimeout()).isTrue();
      assertThat(inbound.getListenerFiltersTimeout()).isEqualTo(com.google.protobuf.Duration.getDefaultInstance());
      assertThat(appHttp.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(9080);
      assertThat(appHttp.getFilterChainMatch().getApplicationProtocolsList()).containsExactly("http/1.0", "http/1.1", "h2c");
      FilterChain appTcp = inbound.getFilterChainsList().stream().filter(c -> c.getName().equals("inbound|9080|tcp"))
          .findFirst().orElseThrow();
      assertThat(appTcp.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(9080);
      assertThat(tcpProxy(appTcp).getCluster()).isEqualTo("inbound|9080");
    }
  }

  @Test
  void theMeshProtocolDetectionTimeoutReachesBothDetectingListeners() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("s.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001, OutboundTrafficPolicy.ALLOW_ANY, Duration.ofMillis(250))
            .start("127.0.0.1", 0);
        XdsClient captured = client(xds, node())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().containsKey("reviews-10.1.0.7"));
      MeshResources r = xds.resourcesFor("reviews-10.1.0.7");
      var quarter = com.google.protobuf.Duration.newBuilder().setNanos(250_000_000).build();
      for (String name : List.of("0.0.0.0_9080", "virtualInbound")) {
        Listener l = CapturedTranslationTest.listener(r, name);
        assertThat(l.getListenerFiltersTimeout()).as(name).isEqualTo(quarter);
        assertThat(l.getContinueOnListenerFiltersTimeout()).as(name).isTrue();
      }
    }
    assertThatThrownBy(() -> new XdsServer(store, 15001, OutboundTrafficPolicy.ALLOW_ANY, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("protocolDetectionTimeout");
  }

  @Test
  void theMeshConfigFilesProtocolDetectionTimeoutReachesTheListenersAndTheFlagOverridesIt() throws Exception {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("mesh", ".yaml");
    try {
      java.nio.file.Files.writeString(file, "protocolDetectionTimeout: 1.5s\n");
      var mesh = io.keelson.control.api.MeshConfigFile.read(file);
      assertThat(mesh.protocolDetectionTimeout()).isEqualTo(Duration.ofMillis(1500));
      var options = new io.keelson.control.api.ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001)
          .withExtensionProviders(mesh.extensionProviders())
          .withProtocolDetectionTimeout(mesh.protocolDetectionTimeout());
      try (var cp = io.keelson.control.api.ControlPlane.start(options);
          XdsClient captured = client(cp.xds, node())) {
        cp.store.apply(PolicyParser.parse("s.yaml", SERVICES).policies(), false);
        await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().containsKey("reviews-10.1.0.7"));
        var expected = com.google.protobuf.Duration.newBuilder().setSeconds(1).setNanos(500_000_000).build();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          MeshResources r = cp.xds.resourcesFor("reviews-10.1.0.7");
          for (String name : List.of("0.0.0.0_9080", "virtualInbound")) {
            assertThat(CapturedTranslationTest.listener(r, name).getListenerFiltersTimeout()).as(name).isEqualTo(expected);
          }
        });
      }
    } finally {
      java.nio.file.Files.deleteIfExists(file);
    }
    assertThat(io.keelson.control.api.MeshConfigFile.parse("m.yaml", "protocolDetectionTimeout: 0s\n")
        .protocolDetectionTimeout()).as("0s: wait for ever").isEqualTo(Duration.ZERO);
    assertThat(io.keelson.control.api.MeshConfigFile.parse("m.yaml", "protocolDetectionTimeout: 1m30s\n")
        .protocolDetectionTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(io.keelson.control.api.MeshConfigFile.parse("m.yaml", "extensionProviders: []\n")
        .protocolDetectionTimeout()).as("unset: the flag's or the default").isNull();
    assertThatThrownBy(() -> io.keelson.control.api.MeshConfigFile.parse("m.yaml", "protocolDetectionTimeout: soon\n"))
        .hasMessageContaining("m.yaml: protocolDetectionTimeout: 'soon' is not a duration; expected a Go duration");
    assertThatThrownBy(() -> io.keelson.control.api.MeshConfigFile.parse("m.yaml", "protocolDetectionTimeout: -1s\n"))
        .hasMessageContaining("m.yaml: protocolDetectionTimeout: '-1s' is not a duration");
    assertThatThrownBy(() -> io.keelson.control.api.MeshConfigFile.parse("m.yaml", "protocolDetectionTimeout: 5\n"))
        .hasMessageContaining("m.yaml: protocolDetectionTimeout: 5 is not a duration");
  }

  private static TcpProxy tcpProxy(FilterChain c) throws Exception {
    return c.getFilters(c.getFiltersCount() - 1).getTypedConfig().unpack(TcpProxy.class);
  }

  static Node node() {
    return Node.newBuilder().setId("reviews-10.1.0.7").setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.SERVICE, Value.newBuilder().setStringValue("reviews").build())
            .putFields(NodeRegistration.ADDRESS, Value.newBuilder().setStringValue("10.1.0.7").build())
            .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(9080).build())
            .putFields(NodeRegistration.APP_PORT, Value.newBuilder().setNumberValue(9080).build())
            .putFields(NodeRegistration.CAPTURE, Value.newBuilder().setStringValue("iptables").build())
            .putFields(NodeRegistration.INBOUND_PORT, Value.newBuilder().setNumberValue(15006).build()))
        .build();
  }

  static XdsClient client(XdsServer xds, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { });
  }
}
