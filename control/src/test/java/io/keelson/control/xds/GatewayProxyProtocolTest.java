package io.keelson.control.xds;

import static io.keelson.control.xds.GatewayTranslationTest.MESH;
import static io.keelson.control.xds.GatewayTranslationTest.gateway;
import static io.keelson.control.xds.GatewayTranslationTest.store;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.keelson.control.api.MeshConfigFile;
import io.keelson.control.store.PolicySet;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Istio's meshConfig {@code defaultConfig.gatewayTopology.proxyProtocol: {}} in {@code --mesh-config}: read (anything
 * else under defaultConfig refused by path) and turned into the proxy_protocol listener filter, first, on every listener
 * of a gateway, which the data plane translates.
 */
class GatewayProxyProtocolTest {
  @BeforeAll
  static void certificates() throws Exception {
    GatewayTranslationTest.certificates();
  }

  @Test
  void meshConfigReadsGatewayTopologyProxyProtocolAndRefusesTheRest() {
    assertThat(MeshConfigFile.parse("mesh.yaml", "defaultConfig:\n  gatewayTopology:\n    proxyProtocol: {}\n")
        .gatewayProxyProtocol()).isTrue();
    assertThat(MeshConfigFile.parse("mesh.yaml", "protocolDetectionTimeout: 1s\n").gatewayProxyProtocol()).isFalse();
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 1\n"))
        .hasMessageContaining("mesh.yaml: defaultConfig.gatewayTopology.numTrustedProxies: not supported");
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "defaultConfig:\n  concurrency: 2\n"))
        .hasMessageContaining("mesh.yaml: defaultConfig.concurrency: not supported");
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "defaultConfig:\n  gatewayTopology:\n    proxyProtocol: true\n"))
        .hasMessageContaining("defaultConfig.gatewayTopology.proxyProtocol: true is not an object");
  }

  @Test
  void everyGatewayListenerReadsTheHeaderFirstAndTheDataPlaneRunsIt() throws Exception {
    PolicySet state = store(GatewayTranslationTest.secrets + "---\n" + MESH).current();
    Map<String, String> labels = Map.of("istio", "ingressgateway", "app", "edge");
    MeshResources r = GatewayProxyProtocol.apply(gateway(state, labels));
    assertThat(r.listeners()).isNotEmpty().allSatisfy(l ->
        assertThat(l.getListenerFilters(0).getName()).isEqualTo("envoy.filters.listener.proxy_protocol"));
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_80", "0.0.0.0_443", "0.0.0.0_8443");
    var snapshot = GatewayTranslationTest.dataPlaneTakes(r, state, labels, "istio-system");
    assertThat(snapshot.listeners()).isNotEmpty().allSatisfy(l -> {
      assertThat(l.proxyProtocol()).as(l.name()).isNotNull();
      assertThat(l.proxyProtocol().allowWithout()).isFalse();
    });
  }
}
