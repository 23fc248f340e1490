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
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What an endpoint change costs the control plane: the lists it rebuilds and the translations it
 * runs, however many proxies are connected.
 */
class EndpointChangeCostTest {
  private static final Consumer<ProxySnapshot> IGNORE = s -> { };

  private static XdsClient client(XdsServer xds, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), IGNORE);
  }

  /** A sidecar of product-service with a workload identity (so it gets mTLS clusters and its own inbound listener). */
  private static Node identified(String id, int port) {
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.SERVICE, Value.newBuilder().setStringValue("product-service").build())
            .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(port).build())
            .putFields(NodeRegistration.SPIFFE_ID, Value.newBuilder()
                .setStringValue("spiffe://cluster.local/ns/default/sa/" + id).build())
            .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder()
                .putFields("version", Value.newBuilder().setStringValue("v3").build())).build()))
        .build();
  }

  private static ClusterLoadAssignment cla(MeshResources r, String cluster) {
    return r.endpoints().stream().filter(c -> c.getClusterName().equals(cluster)).findFirst().orElseThrow();
  }

  @Test
  void anEndpointChangeRebuildsOnlyTheListsHoldingTheWorkloadOnceForEveryProxy() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    List<XdsClient> clients = new ArrayList<>();
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0)) {
      clients.add(client(xds, Node.newBuilder().setId("plain").build()));
      for (int i = 0; i < 4; i++) {
        clients.add(client(xds, identified("id-" + i, 16000 + i)));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> xds.registeredWorkloads().size() == 4
          && xds.nodeIds().size() == 5 && xds.resourcesFor("id-3") != null
          && xds.resourcesFor("id-3").listeners().size() == 2);
      for (int i = 0; i < 4; i++) {
        MeshResources r = xds.resourcesFor("id-" + i);
        assertThat(r.listeners()).as("outbound, then its own inbound listener").hasSize(2);
        assertThat(r.endpoints()).as("the same list instances as every other sidecar's")
            .zipSatisfy(xds.current().endpoints(), (a, b) -> assertThat(a).isSameAs(b));
      }
      ClusterLoadAssignment v2 = cla(xds.current(), "product-service|v2");
      long translations = xds.translations();
      long built = xds.assignmentsBuilt();

      // product-v1 moves: the service's list and its v1 subset change, v2 does not.
      store.apply(PolicyParser.parse("registry.yaml", Mesh.registry(9091, 8082)).policies(), false);
      for (int i = 0; i < 4; i++) {
        xds.resourcesFor("id-" + i); // every proxy's resources are built by now; this only reads them
      }
      assertThat(xds.assignmentsBuilt() - built).as("lists rebuilt: the service's and v1's, once").isEqualTo(2);
      assertThat(xds.translations() - translations)
          .as("one translation for plain sidecars, one shared by the four identified ones").isEqualTo(2);
      assertThat(cla(xds.current(), "product-service|v2")).as("the unchanged list is reused").isSameAs(v2);
      assertThat(cla(xds.resourcesFor("id-0"), "product-service|v1"))
          .isSameAs(cla(xds.current(), "product-service|v1"));
      assertThat(xds.resourcesFor("id-0").listeners().get(1)).as("per-node inbound listener")
          .isNotEqualTo(xds.resourcesFor("id-1").listeners().get(1));
    } finally {
      clients.forEach(XdsClient::close);
    }
  }

  private static final String ZONED = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-v1 }
      spec: { service: product-service, address: 127.0.0.1, port: %d, labels: { version: v1 }, locality: r1/a }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-v2 }
      spec: { service: product-service, address: 127.0.0.1, port: 8082, labels: { version: v2 }, locality: r1/b }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: product-service }
      spec:
        host: product-service
        subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
        trafficPolicy: { outlierDetection: { consecutive5xxErrors: 5 } }
      """;

  private static Node located(String id, String zone) {
    return Node.newBuilder().setId(id)
        .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("r1").setZone(zone)).build();
  }

  @Test
  void perLocalityListsAreBuiltOncePerLocalityNotPerProxyAndOnlyForTheClustersAChangeTouches() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("zoned.yaml", ZONED.formatted(8081)).policies(), false);
    List<XdsClient> clients = new ArrayList<>();
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0)) {
      for (int i = 0; i < 6; i++) {
        clients.add(client(xds, located("p-" + i, i % 2 == 0 ? "a" : "b")));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> xds.nodeIds().size() == 6);
      // zone a's proxies share one list per cluster, with v1 (zone a) first; zone b's share another
      ClusterLoadAssignment inA = cla(xds.resourcesFor("p-0"), "product-service");
      assertThat(cla(xds.resourcesFor("p-2"), "product-service")).isSameAs(inA);
      assertThat(cla(xds.resourcesFor("p-1"), "product-service")).isNotEqualTo(inA)
          .isSameAs(cla(xds.resourcesFor("p-5"), "product-service"));
      assertThat(inA.getEndpointsList()).extracting(g -> g.getLocality().getZone() + "@" + g.getPriority())
          .containsExactlyInAnyOrder("a@0", "b@1");
      ClusterLoadAssignment v2InA = cla(xds.resourcesFor("p-0"), "product-service|v2");
      long built = xds.localityAssignmentsBuilt();

      // product-v1 moves: the service's list and v1's change, for each of the two localities; v2's is kept.
      store.apply(PolicyParser.parse("zoned.yaml", ZONED.formatted(9091)).policies(), false);
      for (int i = 0; i < 6; i++) {
        xds.resourcesFor("p-" + i);
      }
      assertThat(xds.localityAssignmentsBuilt() - built).as("2 clusters x 2 localities, not x 6 proxies").isEqualTo(4);
      assertThat(cla(xds.resourcesFor("p-4"), "product-service|v2")).isSameAs(v2InA);
      assertThat(cla(xds.resourcesFor("p-4"), "product-service").getEndpointsList().stream()
          .flatMap(g -> g.getLbEndpointsList().stream())
          .map(lb -> lb.getEndpoint().getAddress().getSocketAddress().getPortValue())).contains(9091);
    } finally {
      clients.forEach(XdsClient::close);
    }
  }
}
