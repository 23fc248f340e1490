package io.keelson.control.xds;

import static io.keelson.control.xds.LocalityTranslationTest.priorities;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.policy.Locality;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A registry Service's {@code trafficDistribution: PreferClose} (and Istio's annotation) as istiod programs it: the
 * service's clusters get priorities by the caller's region and zone without outlierDetection, a DestinationRule's own
 * localityLbSetting wins, and services without it are unchanged.
 */
class TrafficDistributionTranslationTest {
  /**
   * Service {@code name} with {@code metadata} and {@code spec} fields added, and one workload per locality: ports 1-2
   * us-west/a (two subzones), 3 us-west/b, 4 us-east/a, 5 none.
   */
  private static String registry(String name, String metadata, String spec) {
    return "apiVersion: keelson.io/v1alpha1\nkind: Service\nmetadata: { name: " + name + metadata + " }\n"
        + "spec: { " + spec + "ports: [ { name: http, port: 80 } ] }\n"
        + workload(name, 1, "us-west/a/rack1") + workload(name, 2, "us-west/a/rack2")
        + workload(name, 3, "us-west/b/rack1") + workload(name, 4, "us-east/a/rack1") + workload(name, 5, null);
  }

  private static String workload(String service, int port, String locality) {
    return "---\n{ apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: " + service + port + " },"
        + " spec: { service: " + service + ", address: 127.0.0.1, port: " + port
        + (locality == null ? "" : ", locality: " + locality) + " } }\n";
  }

  private static PolicySet state(String... docs) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", String.join("---\n", docs)).policies(), false);
    return store.current();
  }

  private static final Locality WEST_A = new Locality("us-west", "a", "rack1");
  private static final Map<Integer, Integer> EVERY_ZONE_EQUAL = Map.of(1, 0, 2, 0, 3, 0, 4, 0, 5, 0);

  @Test
  void preferCloseGivesPrioritiesByZoneThenRegionWithoutOutlierDetection() throws Exception {
    PolicySet s = state(registry("reviews", "", "trafficDistribution: PreferClose, "), registry("ratings", "", ""));
    // istiod's failoverPriority [network, region, zone] (no network on either side): the zone (both subzones) 0, the
    // region 1, the rest 2
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    assertThat(priorities(s, "reviews", new Locality("us-west", "b", ""), Map.of(), true))
        .isEqualTo(Map.of(3, 0, 1, 1, 2, 1, 4, 2, 5, 2));
    assertThat(priorities(s, "reviews", new Locality("us-east", "a", ""), Map.of(), true))
        .isEqualTo(Map.of(4, 0, 1, 1, 2, 1, 3, 1, 5, 1));
    // even with the mesh's locality load balancing off, as istiod (the service asks for it)
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), false)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    // a service without it: every locality at priority 0 (no outlierDetection)
    assertThat(priorities(s, "ratings", WEST_A, Map.of(), true)).isEqualTo(EVERY_ZONE_EQUAL);
  }

  @Test
  void theAnnotationAndPreferSameZoneMeanTheSame() throws Exception {
    PolicySet s = state(registry("reviews",
        ", annotations: { networking.istio.io/traffic-distribution: preferclose }", ""),
        registry("ratings", "", "trafficDistribution: PreferSameZone, "));
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    assertThat(priorities(s, "ratings", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
  }

  @Test
  void aDestinationRulesLocalityLbSettingWinsOverPreferClose() throws Exception {
    String svc = registry("reviews", "", "trafficDistribution: PreferClose, ");
    PolicySet disabled = state(svc, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec: { host: reviews, trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: false } } } }
        """);
    assertThat(priorities(disabled, "reviews", WEST_A, Map.of(), true)).isEqualTo(EVERY_ZONE_EQUAL);
    // a rule without localityLbSetting (only outlierDetection): PreferClose still decides, over subsets too
    PolicySet subsets = state(svc, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec:
          host: reviews
          subsets: [ { name: all, labels: {} } ]
          trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } }
        """);
    assertThat(priorities(subsets, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    assertThat(priorities(subsets, "reviews|all", WEST_A, Map.of(), true))
        .isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
  }

  @Test
  void preferSameNodeGivesTheCallersNodeFirstThenSubzoneZoneRegion() throws Exception {
    String svc = "apiVersion: keelson.io/v1alpha1\nkind: Service\nmetadata: { name: reviews }\n"
        + "spec: { trafficDistribution: PreferSameNode, ports: [ { name: http, port: 80 } ] }\n";
    PolicySet s = state(svc, onNode(1, "us-west/a/rack1", "n1"), onNode(2, "us-west/a/rack1", "n2"),
        onNode(3, "us-west/a/rack2", "n3"), onNode(4, "us-west/b/rack1", "n4"), onNode(5, "us-east/a/rack1", "n5"));
    // istiod's failoverPriority [network, region, zone, subzone, hostname], no network: the node, subzone, zone,
    // region, rest
    assertThat(priorities(s, "reviews", WEST_A, Map.of("kubernetes.io/hostname", "n1"), true))
        .isEqualTo(Map.of(1, 0, 2, 1, 3, 2, 4, 3, 5, 4));
    assertThat(priorities(s, "reviews", WEST_A, Map.of("kubernetes.io/hostname", "n2"), false))
        .as("even with the mesh's locality load balancing off").isEqualTo(Map.of(2, 0, 1, 1, 3, 2, 4, 3, 5, 4));
    // callers and endpoints without a subzone: that label matches (istiod compares values, "" for none), the node decides
    PolicySet noSubzone = state(svc, onNode(1, "us-west/a", "n1"), onNode(2, "us-west/a", "n2"),
        onNode(3, "us-west/b", "n3"));
    assertThat(priorities(noSubzone, "reviews", new Locality("us-west", "a", ""), Map.of("kubernetes.io/hostname", "n2"),
        true)).isEqualTo(Map.of(2, 0, 1, 1, 3, 2));
    // a caller that does not say its node (no NODE_NAME) still prefers its subzone, zone and region
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 3));
  }

  private static String onNode(int port, String locality, String node) {
    return "{ apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: reviews" + port + " },"
        + " spec: { service: reviews, address: 127.0.0.1, port: " + port + ", locality: " + locality
        + ", labels: { kubernetes.io/hostname: " + node + " } } }\n";
  }

  @Test
  void aServiceEntryAnnotatedPreferCloseFailsOverByZoneThenRegion() throws Exception {
    String entry = """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api, annotations: { networking.istio.io/traffic-distribution: PreferClose } }
        spec:
          hosts: [ api.example.com ]
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          resolution: STATIC
          endpoints:
          - { address: 10.0.0.1, locality: us-west/a }
          - { address: 10.0.0.2, locality: us-west/b }
          - { address: 10.0.0.3, locality: us-east/a }
        """;
    assertThat(entryPriorities(state(entry), WEST_A))
        .isEqualTo(Map.of("10.0.0.1", 0, "10.0.0.2", 1, "10.0.0.3", 2));
    // without the annotation (no DestinationRule with outlierDetection): every endpoint at priority 0
    assertThat(entryPriorities(state(entry.replace("annotations: { networking.istio.io/traffic-distribution:"
        + " PreferClose }", "annotations: {}")), WEST_A)).isEqualTo(Map.of("10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.3", 0));
  }

  /** Per endpoint address, its priority in what a caller in {@code caller} is sent for the entry's port 80. */
  private static Map<String, Integer> entryPriorities(PolicySet s, Locality caller) {
    MeshResources shared = new MeshTranslator(15001, false).translate(s, java.util.List.of());
    LocalityAssignments localities = new LocalityAssignments();
    localities.begin(s, java.util.List::of);
    var a = localities.localize(shared, localities.caller(caller, Map.of())).endpoints().stream()
        .filter(e -> e.getClusterName().equals("outbound|80||api.example.com")).findFirst().orElseThrow();
    Map<String, Integer> out = new java.util.TreeMap<>();
    a.getEndpointsList().forEach(g -> g.getLbEndpointsList().forEach(lb -> out.put(
        lb.getEndpoint().getAddress().getSocketAddress().getAddress(), g.getPriority())));
    return out;
  }
}
