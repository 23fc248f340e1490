package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Keelson's xDS server against Keelson's data-plane xDS client (no proxy): NACKs, registration, selective pushes. */
class XdsServerTest {
  private static final Consumer<ProxySnapshot> IGNORE = s -> { };

  static XdsClient client(XdsServer xds, boolean delta, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), delta, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), IGNORE);
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void aNackedRouteShowsInStatusWithItsErrorAndAFixIsAckedAgain(boolean delta) throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient client = client(xds, delta, Node.newBuilder().setId("nacker").build())) {
      String good = xds.current().routesVersion();
      await().atMost(Duration.ofSeconds(10)).until(() -> routes(xds, "nacker") != null
          && "ACK".equals(routes(xds, "nacker").state()) && good.equals(routes(xds, "nacker").acked()));

      // RE2 (Envoy's regex engine, and Keelson's) has no look-ahead: the proxy must refuse this route.
      store.apply(PolicyParser.parse("vs.yaml", Mesh.resource("/canary/virtual-service.yaml").replace("  - route:",
          "  - match: [ { uri: { regex: \"/items(?=/new)\" } } ]\n    route:")).policies(), false);
      String bad = xds.current().routesVersion();
      await().atMost(Duration.ofSeconds(10)).until(() -> "NACK".equals(routes(xds, "nacker").state()));
      ProxyState.TypeState nack = routes(xds, "nacker");
      assertThat(nack.nackedVersion()).isEqualTo(bad);
      assertThat(nack.acked()).isEqualTo(good);
      assertThat(nack.lastError()).contains("/items(?=/new)");

      store.apply(PolicyParser.parse("vs.yaml", Mesh.split(50, 50)).policies(), false);
      String fixed = xds.current().routesVersion();
      await().atMost(Duration.ofSeconds(10)).until(() -> fixed.equals(routes(xds, "nacker").acked())
          && "ACK".equals(routes(xds, "nacker").state()));
      assertThat(routes(xds, "nacker").lastError()).as("the last NACK stays visible").contains("/items(?=/new)");
    }
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void aSidecarRegistersItsWorkloadThroughNodeMetadataAndIsRemovedWhenItsStreamEnds(boolean delta) throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient watcher = client(xds, delta, Node.newBuilder().setId("watcher").build())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> routes(xds, "watcher") != null);
      String before = xds.current().endpointsVersion();
      Node sidecar = Node.newBuilder().setId("product-v2-b").setMetadata(Struct.newBuilder()
              .putFields(NodeRegistration.SERVICE, Value.newBuilder().setStringValue("product-service").build())
              .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(15006).build())
              .putFields(NodeRegistration.OUTBOUND_PORT, Value.newBuilder().setStringValue("15101").build())
              .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder()
                  .putFields("version", Value.newBuilder().setStringValue("v2").build())).build()))
          .build();
      try (XdsClient registering = client(xds, delta, sidecar)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().containsKey("product-v2-b"));
        assertThat(ports(xds, "product-service|v2")).containsExactly(8082, 15006);
        assertThat(ports(xds, "product-service|v1")).containsExactly(8081);
        String withSidecar = xds.current().endpointsVersion();
        assertThat(withSidecar).isNotEqualTo(before);
        await().atMost(Duration.ofSeconds(10)).until(() -> withSidecar.equals(endpoints(xds, "watcher").acked()));
        assertThat(xds.resourcesFor("product-v2-b").listeners().getFirst().getAddress().getSocketAddress()
            .getPortValue()).as("its own outbound port").isEqualTo(15101);
        assertThat(xds.resourcesFor("watcher").listeners().getFirst().getAddress().getSocketAddress()
            .getPortValue()).as("the default outbound port").isEqualTo(15001);
        assertThat(xds.status()).anySatisfy(s -> {
          assertThat(s.nodeId()).isEqualTo("product-v2-b");
          assertThat(s.service()).isEqualTo("product-service");
          assertThat(s.workload().labels()).containsEntry("version", "v2");
        });
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> !xds.registeredWorkloads().containsKey("product-v2-b"));
      assertThat(ports(xds, "product-service|v2")).containsExactly(8082);
      await().atMost(Duration.ofSeconds(10)).until(() -> before.equals(endpoints(xds, "watcher").acked()));
    }
  }

  @org.junit.jupiter.api.Test
  void aChangeThatLeavesTheResourcesAsTheyWereIsNotPushed() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient client = client(xds, false, Node.newBuilder().setId("quiet").build())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> routes(xds, "quiet") != null
          && "ACK".equals(routes(xds, "quiet").state()));
      long pushes = xds.pushes();
      String endpoints = xds.current().endpointsVersion();
      // A label no subset selects on: the store changes, the resources do not.
      store.apply(PolicyParser.parse("registry.yaml", Mesh.registry(8081, 8082)
          .replace("labels: { version: v1 }", "labels: { version: v1, team: shop }")).policies(), false);
      assertThat(store.current().generation()).isGreaterThan(1);
      assertThat(xds.current().endpointsVersion()).isEqualTo(endpoints);
      assertThat(xds.pushes()).isEqualTo(pushes);

      store.apply(PolicyParser.parse("registry.yaml", Mesh.registry(8081, 9092)).policies(), false);
      assertThat(xds.pushes()).isEqualTo(pushes + 1);
      assertThat(xds.current().endpointsVersion()).isNotEqualTo(endpoints);
      assertThat(xds.current().routesVersion()).as("only endpoints changed").isEqualTo(routes(xds, "quiet").acked());
    }
  }

  @org.junit.jupiter.api.Test
  void aSidecarWithoutAnIdentityThatACustomPolicySelectsSaysInItsStatusThatCustomIsNotEnforced() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    store.apply(PolicyParser.parse("authz.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: ext, namespace: shop }
        spec:
          selector: { matchLabels: { version: v2 } }
          action: CUSTOM
          provider: { name: authz-http }
          rules: [ { to: [ { operation: { paths: [ "/admin/*" ] } } ] } ]
        """).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient plain = client(xds, false, sidecar("plain-v2", null));
        XdsClient identified = client(xds, false, sidecar("identified-v2", "spiffe://cluster.local/ns/shop/sa/product"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().keySet()
          .containsAll(List.of("plain-v2", "identified-v2")));
      assertThat(xds.status()).filteredOn(st -> st.nodeId().equals("plain-v2")).singleElement()
          .satisfies(st -> assertThat(st.warnings()).anySatisfy(w -> assertThat(w)
              .contains("CUSTOM AuthorizationPolicy shop/ext").contains("not enforced").contains("no identity")));
      assertThat(xds.status()).filteredOn(st -> st.nodeId().equals("identified-v2")).singleElement()
          .satisfies(st -> assertThat(st.warnings()).as("enforced on a sidecar with an identity")
              .noneMatch(w -> w.contains("CUSTOM")));
    }
  }

  /** A sidecar of product-service v2 registering through its node metadata, with {@code spiffeId} or none. */
  static Node sidecar(String id, String spiffeId) {
    Struct.Builder md = Struct.newBuilder()
        .putFields(NodeRegistration.SERVICE, Value.newBuilder().setStringValue("product-service").build())
        .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(15006).build())
        .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder()
            .putFields("version", Value.newBuilder().setStringValue("v2").build())).build());
    if (spiffeId != null) {
      md.putFields(NodeRegistration.SPIFFE_ID, Value.newBuilder().setStringValue(spiffeId).build());
    }
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }

  private static ProxyState.TypeState routes(XdsServer xds, String node) {
    return type(xds, node, "routes");
  }

  private static ProxyState.TypeState endpoints(XdsServer xds, String node) {
    return type(xds, node, "endpoints");
  }

  private static ProxyState.TypeState type(XdsServer xds, String node, String type) {
    return xds.status().stream().filter(s -> s.nodeId().equals(node)).findFirst()
        .map(s -> s.types().get(type)).orElse(null);
  }

  private static List<Integer> ports(XdsServer xds, String cluster) {
    ClusterLoadAssignment cla = xds.current().endpoints().stream()
        .filter(c -> c.getClusterName().equals(cluster)).findFirst().orElseThrow();
    return cla.getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream())
        .map(e -> e.getEndpoint().getAddress().getSocketAddress().getPortValue()).sorted().toList();
  }
}
