package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.PathWithEscapedSlashesAction;
import io.keelson.control.api.MeshConfigFile;
import io.keelson.control.policy.Authz;
import io.keelson.control.store.PolicySet;
import io.keelson.dataplane.config.PathNormalization;
import io.keelson.dataplane.xds.XdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's meshConfig {@code pathNormalization.normalization} on every connection manager, as istiod's
 * {@code buildHTTPConnectionManager} sets it: BASE by default (normalize_path, escaped slashes kept) on a plain
 * sidecar's outbound and inbound, a captured sidecar's chains and a gateway's servers; another level from
 * {@code --mesh-config} on all of them; proxyless gRPC API listeners untouched. The data plane takes the result.
 */
class PathNormalizationTranslationTest {
  private static final String GATEWAY = GrpcWebTranslationTest.MESH;

  /** Every connection manager of {@code listeners}, which must have some. */
  private static List<HttpConnectionManager> managers(List<Listener> listeners) throws Exception {
    List<HttpConnectionManager> out = new ArrayList<>();
    for (Listener l : listeners) {
      out.addAll(WebSocketUpgradeTranslationTest.connectionManagers(l).values());
    }
    assertThat(out).as("connection managers found").isNotEmpty();
    return out;
  }

  private static void assertLevel(List<HttpConnectionManager> managers, boolean merge, PathWithEscapedSlashesAction action) {
    assertThat(managers).allSatisfy(h -> {
      assertThat(h.hasNormalizePath() && h.getNormalizePath().getValue()).isTrue();
      assertThat(h.getMergeSlashes()).isEqualTo(merge);
      assertThat(h.getPathWithEscapedSlashesAction()).isEqualTo(action);
    });
  }

  @Test
  void sidecarsAndGatewaysNormalizePathsAtIstiosDefaultLevel() throws Exception {
    PolicySet state = GatewayTranslationTest.store(GATEWAY).current();
    MeshResources sidecar = new MeshTranslator(15001, false).translate(state, List.of());
    assertLevel(managers(sidecar.listeners()), false, PathWithEscapedSlashesAction.KEEP_UNCHANGED);
    for (Authz.MtlsMode mode : Authz.MtlsMode.values()) {
      assertLevel(managers(List.of(MeshMtls.inbound(15006, mode))), false, PathWithEscapedSlashesAction.KEEP_UNCHANGED);
    }
    Map<String, String> labels = Map.of("istio", "ingressgateway");
    MeshResources gateway = GatewayTranslationTest.gateway(state, labels);
    assertLevel(managers(gateway.listeners()), false, PathWithEscapedSlashesAction.KEEP_UNCHANGED);
    // The data plane reads them: every gateway listener normalizes, slashes as sent.
    var snapshot = GatewayTranslationTest.dataPlaneTakes(gateway, state, labels, "istio-system");
    assertThat(snapshot.listeners()).filteredOn(l -> l.http() != null).isNotEmpty().allSatisfy(l ->
        assertThat(l.http().pathNormalization()).isEqualTo(
            new PathNormalization(true, false, PathNormalization.EscapedSlashes.KEEP_UNCHANGED)));
  }

  @Test
  void proxylessGrpcApiListenersAreLeftAsIstiodsGrpcGeneratorMakesThem() throws Exception {
    MeshResources r = new MeshTranslator(15001, true).translate(GatewayTranslationTest.store(GATEWAY).current(), List.of());
    List<Listener> api = r.listeners().stream().filter(Listener::hasApiListener).toList();
    assertThat(api).isNotEmpty();
    MeshResources merged = PathNormalizationLevel.MERGE_SLASHES.apply(r);
    for (Listener l : merged.listeners().stream().filter(Listener::hasApiListener).toList()) {
      HttpConnectionManager h = l.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
      assertThat(h.hasNormalizePath()).as(l.getName()).isFalse();
      assertThat(h.getMergeSlashes()).isFalse();
    }
  }

  @Test
  void eachLevelSetsIstiodsFields() throws Exception {
    PolicySet state = GatewayTranslationTest.store(GATEWAY).current();
    MeshResources gateway = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    assertThat(PathNormalizationLevel.BASE.apply(gateway)).isSameAs(gateway);
    assertLevel(managers(PathNormalizationLevel.MERGE_SLASHES.apply(gateway).listeners()), true,
        PathWithEscapedSlashesAction.KEEP_UNCHANGED);
    assertLevel(managers(PathNormalizationLevel.DECODE_AND_MERGE_SLASHES.apply(gateway).listeners()), true,
        PathWithEscapedSlashesAction.UNESCAPE_AND_FORWARD);
    assertThat(managers(PathNormalizationLevel.NONE.apply(gateway).listeners())).allSatisfy(h -> {
      assertThat(h.getNormalizePath().getValue()).isFalse();
      assertThat(h.getMergeSlashes()).isFalse();
      assertThat(h.getPathWithEscapedSlashesAction()).isEqualTo(PathWithEscapedSlashesAction.KEEP_UNCHANGED);
    });
  }

  @Test
  void theControlPlanesMeshLevelReachesACapturedSidecarsEveryChain() throws Exception {
    try (io.keelson.control.api.ControlPlane cp = io.keelson.control.api.ControlPlane.start(
        new io.keelson.control.api.ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001)
            .withPathNormalization(PathNormalizationLevel.DECODE_AND_MERGE_SLASHES))) {
      cp.store.apply(WebSocketUpgradeTranslationTest.reviewsWithAutoAndHttpPorts().current().all(), false);
      XdsServer xds = cp.xds;
      try (XdsClient captured = DetectedProtocolTranslationTest.client(xds, DetectedProtocolTranslationTest.node())) {
        await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().containsKey("reviews-10.1.0.7"));
        MeshResources r = xds.resourcesFor("reviews-10.1.0.7");
        assertThat(WebSocketUpgradeTranslationTest.connectionManagers(CapturedTranslationTest.listener(r, "virtualInbound")))
            .isNotEmpty();
        assertLevel(managers(r.listeners()), true, PathWithEscapedSlashesAction.UNESCAPE_AND_FORWARD);
      }
    }
  }

  @Test
  void meshConfigReadsPathNormalizationAndRefusesWhatIstioDoesNotHave() {
    assertThat(MeshConfigFile.parse("mesh.yaml", "pathNormalization:\n  normalization: MERGE_SLASHES\n")
        .pathNormalization()).isEqualTo(PathNormalizationLevel.MERGE_SLASHES);
    assertThat(MeshConfigFile.parse("mesh.yaml", "pathNormalization: { normalization: DEFAULT }\n")
        .pathNormalization()).isEqualTo(PathNormalizationLevel.BASE);
    assertThat(MeshConfigFile.parse("mesh.yaml", "protocolDetectionTimeout: 1s\n").pathNormalization()).isNull();
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "pathNormalization: { normalization: DECODE }\n"))
        .hasMessageContaining("mesh.yaml: pathNormalization.normalization: 'DECODE' is not a path normalization;"
            + " expected NONE, BASE (the default), MERGE_SLASHES or DECODE_AND_MERGE_SLASHES");
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "pathNormalization: { level: NONE }\n"))
        .hasMessageContaining("mesh.yaml: pathNormalization.level: not supported");
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh.yaml", "pathNormalization: { normalization: 2 }\n"))
        .hasMessageContaining("mesh.yaml: pathNormalization.normalization: 2 is not a name");
  }
}
