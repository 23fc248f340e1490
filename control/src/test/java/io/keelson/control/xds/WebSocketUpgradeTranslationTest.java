package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every HTTP connection manager the control plane makes allows WebSocket upgrades, as istiod's
 * {@code buildHTTPConnectionManager} does: a plain sidecar's outbound and inbound, a captured sidecar's per-port,
 * protocol-detecting and virtualInbound chains, and a gateway's servers; proxyless gRPC API listeners do not.
 */
class WebSocketUpgradeTranslationTest {
  /** A Service, and a Gateway with an HTTP and a GRPC-Web server routed to it. */
  private static final String GATEWAY = GrpcWebTranslationTest.MESH;

  /** Each HTTP connection manager on {@code l}'s filter chains, by chain name. */
  static Map<String, HttpConnectionManager> connectionManagers(Listener l) throws Exception {
    Map<String, HttpConnectionManager> out = new java.util.LinkedHashMap<>();
    for (FilterChain c : l.getFilterChainsList()) {
      for (Filter f : c.getFiltersList()) {
        if (f.getTypedConfig().is(HttpConnectionManager.class)) {
          out.put(l.getName() + "/" + c.getName(), f.getTypedConfig().unpack(HttpConnectionManager.class));
        }
      }
    }
    return out;
  }

  private static List<String> withoutWebSocket(List<Listener> listeners) throws Exception {
    List<String> missing = new ArrayList<>();
    int managers = 0;
    for (Listener l : listeners) {
      for (var e : connectionManagers(l).entrySet()) {
        managers++;
        if (!e.getValue().getUpgradeConfigsList().equals(List.of(MeshConnectionManagers.WEBSOCKET))) {
          missing.add(e.getKey());
        }
      }
    }
    assertThat(managers).as("connection managers found").isPositive();
    return missing;
  }

  @Test
  void aPlainSidecarsOutboundAndInboundConnectionManagersAllowWebSocket() throws Exception {
    MeshResources r = new MeshTranslator(15001, false).translate(GatewayTranslationTest.store(GATEWAY).current(), List.of());
    Listener outbound = GatewayTranslationTest.listener(r, "outbound");
    assertThat(outbound.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class)
        .getUpgradeConfigsList()).extracting(HttpConnectionManager.UpgradeConfig::getUpgradeType).containsExactly("websocket");
    assertThat(withoutWebSocket(r.listeners())).isEmpty();
    for (Authz.MtlsMode mode : Authz.MtlsMode.values()) {
      assertThat(withoutWebSocket(List.of(MeshMtls.inbound(15006, mode)))).as(mode.name()).isEmpty();
    }
  }

  @Test
  void proxylessGrpcApiListenersSetNoUpgrades() throws Exception {
    MeshResources r = new MeshTranslator(15001, true).translate(GatewayTranslationTest.store(GATEWAY).current(), List.of());
    List<Listener> api = r.listeners().stream().filter(Listener::hasApiListener).toList();
    assertThat(api).isNotEmpty();
    for (Listener l : api) {
      assertThat(l.getApiListener().getApiListener().unpack(HttpConnectionManager.class).getUpgradeConfigsCount())
          .as(l.getName()).isZero();
    }
  }

  @Test
  void aGatewaysServersAllowWebSocket() throws Exception {
    MeshResources r = GatewayTranslationTest.gateway(GatewayTranslationTest.store(GATEWAY).current(),
        Map.of("istio", "ingressgateway"));
    assertThat(connectionManagers(GatewayTranslationTest.listener(r, "0.0.0.0_80"))).isNotEmpty();
    assertThat(withoutWebSocket(r.listeners())).isEmpty();
  }

  /** A store with Service reviews: port 9080 without a protocol (detected), 9082 named HTTP. */
  static PolicyStore reviewsWithAutoAndHttpPorts() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("s.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: reviews }
        spec:
          ports: [ { port: 9080 }, { name: http-api, port: 9082 } ]
        """).policies(), false);
    return store;
  }

  @Test
  void aCapturedSidecarsPortDetectingAndInboundChainsAllowWebSocket() throws Exception {
    PolicyStore store = reviewsWithAutoAndHttpPorts();
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient captured = DetectedProtocolTranslationTest.client(xds, DetectedProtocolTranslationTest.node())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().containsKey("reviews-10.1.0.7"));
      MeshResources r = xds.resourcesFor("reviews-10.1.0.7");
      assertThat(connectionManagers(CapturedTranslationTest.listener(r, "0.0.0.0_9080"))).as("detecting").isNotEmpty();
      assertThat(connectionManagers(CapturedTranslationTest.listener(r, "0.0.0.0_9082"))).as("HTTP port").isNotEmpty();
      assertThat(connectionManagers(CapturedTranslationTest.listener(r, "virtualInbound"))).isNotEmpty();
      assertThat(withoutWebSocket(r.listeners())).isEmpty();
    }
  }
}
