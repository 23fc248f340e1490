package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Istio's locality load balancing as translated for proxies in different localities: endpoints grouped by locality,
 * priorities by what the caller shares (subzone, zone, region, other), failover pairs, failoverPriority labels,
 * distribute weights, and the rules for when none of it applies (no outlierDetection, disabled).
 */
class LocalityTranslationTest {
  /** reviews: one workload in each of six localities (ports 1-6), and one without a locality (port 7). */
  private static final String REGISTRY = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r1 },
        spec: { service: reviews, address: 127.0.0.1, port: 1, locality: us-west/a/rack1, labels: { version: v1 } } }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r2 },
        spec: { service: reviews, address: 127.0.0.1, port: 2, locality: us-west/a/rack2, labels: { version: v2 } } }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r3 },
        spec: { service: reviews, address: 127.0.0.1, port: 3, locality: us-west/b/rack1, labels: { version: v1 } } }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r4 },
        spec: { service: reviews, address: 127.0.0.1, port: 4, locality: us-east/a/rack1, labels: { version: v1 } } }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r5 },
        spec: { service: reviews, address: 127.0.0.1, port: 5, locality: eu-west/a, labels: { version: v2 } } }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r6 },
        spec: { service: reviews, address: 127.0.0.1, port: 6, locality: eu-west/b, labels: { version: v1 } } }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: r7 },
        spec: { service: reviews, address: 127.0.0.1, port: 7 } }
      """;
  private static final Locality CALLER = new Locality("us-west", "a", "rack1");

  private static PolicySet state(String trafficPolicy) throws Exception {
    PolicyStore store = new PolicyStore();
    String dr = trafficPolicy == null ? "" : """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec:
          host: reviews
          subsets: [ { name: v1, labels: { version: v1 } } ]
          trafficPolicy:
        """ + trafficPolicy.indent(4);
    store.apply(PolicyParser.parse("mesh.yaml", REGISTRY + dr).policies(), false);
    return store.current();
  }

  /** Port → priority of the assignment of {@code cluster} sent to a proxy in {@code caller}. */
  static Map<Integer, Integer> priorities(PolicySet state, String cluster, Locality caller,
      Map<String, String> callerLabels, boolean meshEnabled) {
    ClusterLoadAssignment a = assignment(state, cluster, caller, callerLabels, meshEnabled);
    Map<Integer, Integer> out = new TreeMap<>();
    for (LocalityLbEndpoints g : a.getEndpointsList()) {
      g.getLbEndpointsList().forEach(lb -> out.put(lb.getEndpoint().getAddress().getSocketAddress().getPortValue(),
          g.getPriority()));
    }
    return out;
  }

  private static ClusterLoadAssignment assignment(PolicySet state, String cluster, Locality caller,
      Map<String, String> callerLabels, boolean meshEnabled) {
    MeshResources shared = new MeshTranslator(15001, false).translate(state, List.of());
    LocalityAssignments localities = new LocalityAssignments();
    localities.meshEnabled(meshEnabled);
    localities.begin(state, () -> List.copyOf(state.ofType(io.keelson.control.policy.Policy.Workload.class)));
    MeshResources r = localities.localize(shared, localities.caller(caller, callerLabels));
    return r.endpoints().stream().filter(e -> e.getClusterName().equals(cluster)).findFirst().orElseThrow();
  }

  @Test
  void endpointsAreGroupedByLocalityWhichEdsCarries() throws Exception {
    ClusterLoadAssignment a = assignment(state(null), "reviews", CALLER, Map.of(), true);
    assertThat(a.getEndpointsList()).extracting(g -> Locality.of(g.getLocality()).toString())
        .containsExactly("", "eu-west/a", "eu-west/b", "us-east/a/rack1", "us-west/a/rack1", "us-west/a/rack2",
            "us-west/b/rack1");
    assertThat(a.getEndpoints(4).getLocality().getSubZone()).isEqualTo("rack1");
  }

  @Test
  void withOutlierDetectionPrioritiesFollowWhatTheCallerShares() throws Exception {
    PolicySet s = state("outlierDetection: { consecutive5xxErrors: 1 }");
    // same subzone 0, same zone 1, same region 2, other regions (and no locality) 3
    assertThat(priorities(s, "reviews", CALLER, Map.of(), true))
        .isEqualTo(Map.of(1, 0, 2, 1, 3, 2, 4, 3, 5, 3, 6, 3, 7, 3));
    // a subset cluster follows its DestinationRule, over its own endpoints; gaps are renumbered away
    assertThat(priorities(s, "reviews|v1", new Locality("us-west", "b", "rack1"), Map.of(), true))
        .isEqualTo(Map.of(3, 0, 1, 1, 4, 2, 6, 2));
    // a caller without a locality prefers endpoints without one
    assertThat(priorities(s, "reviews", Locality.NONE, Map.of(), true))
        .isEqualTo(Map.of(7, 0, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1));
  }

  @Test
  void withoutOutlierDetectionOrWhenDisabledEveryLocalityIsPriorityZero() throws Exception {
    Map<Integer, Integer> allZero = Map.of(1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
    assertThat(priorities(state("connectionPool: { tcp: { maxConnections: 10 } }"), "reviews", CALLER, Map.of(), true))
        .as("no outlierDetection: Istio's rule").isEqualTo(allZero);
    assertThat(priorities(state("outlierDetection: { consecutive5xxErrors: 1 }"), "reviews", CALLER, Map.of(), false))
        .as("control --locality-lb=false").isEqualTo(allZero);
    assertThat(priorities(state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer: { localityLbSetting: { enabled: false } }"""), "reviews", CALLER, Map.of(), true))
        .as("enabled: false on the DestinationRule").isEqualTo(allZero);
    assertThat(priorities(state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer: { localityLbSetting: { enabled: true } }"""), "reviews", CALLER, Map.of(), false))
        .as("the DestinationRule's setting applies with the mesh default off")
        .isEqualTo(Map.of(1, 0, 2, 1, 3, 2, 4, 3, 5, 3, 6, 3, 7, 3));
  }

  @Test
  void aFailoverPairSendsTheRegionsCallersToTheNamedRegionBeforeTheOthers() throws Exception {
    PolicySet s = state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer: { localityLbSetting: { failover: [ { from: us-west, to: eu-west } ] } }""");
    assertThat(priorities(s, "reviews", CALLER, Map.of(), true))
        .isEqualTo(Map.of(1, 0, 2, 1, 3, 2, 5, 3, 6, 3, 4, 4, 7, 4));
    // a caller of another region is not concerned by the pair
    assertThat(priorities(s, "reviews", new Locality("us-east", "a", "rack1"), Map.of(), true))
        .isEqualTo(Map.of(4, 0, 1, 1, 2, 1, 3, 1, 5, 1, 6, 1, 7, 1));
  }

  @Test
  void failoverPriorityLabelsOrderEndpointsByTheCallersValues() throws Exception {
    PolicySet s = state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer: { localityLbSetting: { failoverPriority: [ version, topology.kubernetes.io/region ] } }""");
    // version and region match: 0; version only: 1; version differs: 2 (no locality priority without failover)
    assertThat(priorities(s, "reviews", CALLER, Map.of("version", "v1"), true))
        .isEqualTo(Map.of(1, 0, 3, 0, 4, 1, 6, 1, 2, 2, 5, 2, 7, 2));
    // label=value compares endpoints with that value rather than the caller's (Istio's override)
    PolicySet overridden = state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer: { localityLbSetting: { failoverPriority: [ version=v2 ] } }""");
    assertThat(priorities(overridden, "reviews", CALLER, Map.of("version", "v1"), true))
        .isEqualTo(Map.of(2, 0, 5, 0, 1, 1, 3, 1, 4, 1, 6, 1, 7, 1));
    // with failover too, the locality orders each label level
    PolicySet both = state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer:
          localityLbSetting: { failoverPriority: [ version ], failover: [ { from: us-west, to: eu-west } ] }""");
    assertThat(priorities(both, "reviews", CALLER, Map.of("version", "v1"), true))
        .isEqualTo(Map.of(1, 0, 3, 1, 6, 2, 4, 3, 2, 4, 5, 5, 7, 6));
  }

  @Test
  void distributeWeighsLocalitiesForTheCallersLocalityAndLeavesTheOthersOut() throws Exception {
    PolicySet s = state("""
        loadBalancer:
          localityLbSetting:
            distribute:
            - { from: "us-west/a/*", to: { "us-west/*": 80, "eu-west/*": 20 } }""");
    ClusterLoadAssignment a = assignment(s, "reviews", CALLER, Map.of(), true);
    Map<String, Integer> weights = new TreeMap<>();
    a.getEndpointsList().forEach(g -> weights.put(Locality.of(g.getLocality()).toString(),
        g.getLoadBalancingWeight().getValue()));
    // 80 over us-west's three localities of one endpoint each (rounded up), 20 over eu-west's two
    assertThat(weights).isEqualTo(Map.of("us-west/a/rack1", 27, "us-west/a/rack2", 27, "us-west/b/rack1", 27,
        "eu-west/a", 10, "eu-west/b", 10));
    assertThat(a.getEndpointsList()).allMatch(g -> g.getPriority() == 0);
    // a caller no entry matches weighs each locality by its endpoints (the cluster is locality-weighted)
    ClusterLoadAssignment other = assignment(s, "reviews", new Locality("us-east", "a", ""), Map.of(), true);
    assertThat(other.getEndpointsList()).hasSize(7).allMatch(g -> g.getLoadBalancingWeight().getValue() == 1);
    Cluster c = new MeshTranslator(15001, false).translate(s, List.of()).clusters().stream()
        .filter(x -> x.getName().equals("reviews")).findFirst().orElseThrow();
    assertThat(c.getCommonLbConfig().hasLocalityWeightedLbConfig()).isTrue();
  }

  @Test
  void callersOfOneLocalityShareOneAssignmentAndAnEndpointChangeRebuildsOnlyItsCluster() throws Exception {
    PolicySet s = state("outlierDetection: { consecutive5xxErrors: 1 }");
    MeshTranslator translator = new MeshTranslator(15001, false);
    LocalityAssignments localities = new LocalityAssignments();
    MeshResources shared = translator.translate(s, List.of());
    localities.begin(s, List::of);
    MeshResources first = localities.localize(shared, localities.caller(CALLER, Map.of()));
    MeshResources again = localities.localize(shared, localities.caller(CALLER, Map.of("team", "x")));
    assertThat(again).isSameAs(first);
    assertThat(localities.built()).as("reviews and reviews|v1, once").isEqualTo(2);
    // a new translation of the same state: the same base assignments, so the derived ones are reused
    MeshResources next = translator.translate(s, List.of());
    localities.begin(s, List::of);
    MeshResources reused = localities.localize(next, localities.caller(CALLER, Map.of()));
    assertThat(localities.built()).isEqualTo(2);
    assertThat(reused.endpoints().get(0)).isSameAs(first.endpoints().get(0));
    assertThat(reused.endpointsVersion()).isEqualTo(first.endpointsVersion());
    assertThat(reused.endpointsVersion()).isNotEqualTo(shared.endpointsVersion());
  }

  @Test
  void aGatewayGetsThePrioritiesOfItsNodesLocalityLikeASidecar() throws Exception {
    PolicySet s = state("outlierDetection: { consecutive5xxErrors: 1 }");
    PolicyStore store = new PolicyStore();
    store.apply(List.copyOf(s.all()), false);
    Locality other = new Locality("us-west", "b", "rack1");
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient west = gateway(xds, "edge-west", CALLER);
        XdsClient b = gateway(xds, "edge-b", other)) {
      // A gateway registers no workload: its locality is its node's (bin/keelson proxy --gateway --locality).
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(gatewayPriorities(xds, "edge-west", "reviews"))
            .isEqualTo(priorities(s, "reviews", CALLER, Map.of(), true))
            .isEqualTo(Map.of(1, 0, 2, 1, 3, 2, 4, 3, 5, 3, 6, 3, 7, 3));
        assertThat(gatewayPriorities(xds, "edge-b", "reviews|v1"))
            .isEqualTo(priorities(s, "reviews|v1", other, Map.of(), true))
            .isEqualTo(Map.of(3, 0, 1, 1, 4, 2, 6, 2));
      });
    }
  }

  @Test
  void failoverPriorityMatchesAGatewaysLabels() throws Exception {
    PolicySet s = state("""
        outlierDetection: { consecutive5xxErrors: 1 }
        loadBalancer: { localityLbSetting: { failoverPriority: [ version, topology.kubernetes.io/region ] } }""");
    PolicyStore store = new PolicyStore();
    store.apply(List.copyOf(s.all()), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient edge = gateway(xds, "edge-v1", CALLER, Map.of("istio", "ingressgateway", "version", "v1"))) {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(gatewayPriorities(xds, "edge-v1", "reviews"))
          .isEqualTo(priorities(s, "reviews", CALLER, Map.of("version", "v1"), true))
          .isEqualTo(Map.of(1, 0, 3, 0, 4, 1, 6, 1, 2, 2, 5, 2, 7, 2)));
    }
  }

  private static Map<Integer, Integer> gatewayPriorities(XdsServer xds, String node, String cluster) {
    MeshResources r = xds.resourcesFor(node);
    assertThat(r).as(node + " connected").isNotNull();
    Map<Integer, Integer> out = new TreeMap<>();
    r.endpoints().stream().filter(e -> e.getClusterName().equals(cluster)).findFirst().orElseThrow()
        .getEndpointsList().forEach(g -> g.getLbEndpointsList().forEach(lb ->
            out.put(lb.getEndpoint().getAddress().getSocketAddress().getPortValue(), g.getPriority())));
    return out;
  }

  private static XdsClient gateway(XdsServer xds, String id, Locality l) {
    return gateway(xds, id, l, Map.of("istio", "ingressgateway"));
  }

  /** A gateway proxy over ADS: its node's locality and labels, no workload. */
  private static XdsClient gateway(XdsServer xds, String id, Locality l, Map<String, String> labels) {
    Struct.Builder ls = Struct.newBuilder();
    labels.forEach((k, v) -> ls.putFields(k, Value.newBuilder().setStringValue(v).build()));
    Node node = Node.newBuilder().setId(id).setCluster(id)
        .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion(l.region()).setZone(l.zone())
            .setSubZone(l.subzone()))
        .setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
            .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(ls).build()))
        .build();
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), st -> { });
  }
}
