package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A ServiceEntry host defined in two namespaces, each exported to {@code .}: each namespace's proxies get their own
 * entry's endpoints, and a {@code failoverPriority} on endpoint labels orders them by <em>those</em> endpoints' labels,
 * though only that namespace's view has them.
 */
class ViewEndpointLabelsTest {
  private static String entry(String namespace, String gold, String silver) {
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api, namespace: %s }
        spec:
          hosts: [ api.example.com ]
          exportTo: [ "." ]
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          resolution: STATIC
          endpoints:
          - { address: %s, labels: { tier: gold } }
          - { address: %s, labels: { tier: silver } }
        """.formatted(namespace, gold, silver);
  }

  private static final String RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: api, namespace: istio-system }
      spec:
        host: api.example.com
        trafficPolicy:
          outlierDetection: { consecutive5xxErrors: 1 }
          loadBalancer: { localityLbSetting: { failoverPriority: [ tier ] } }
      """;

  private final SourceViews views = new SourceViews();
  private final LocalityAssignments localities = new LocalityAssignments();

  /** A change to {@code docs}, as the xDS server makes it. */
  private void change(String... docs) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", String.join("---\n", docs)).policies(), false);
    localities.begin(views.changed(store.current(), "istio-system"), List::of);
  }

  /** Per endpoint address, its priority in what a gold caller of {@code namespace} is sent. */
  private Map<String, Integer> prioritiesFor(String namespace) {
    return prioritiesFor(namespace, Locality.NONE, Map.of("tier", "gold"));
  }

  /** Per endpoint address, its priority in what a caller in {@code locality} with {@code labels} is sent. */
  private Map<String, Integer> prioritiesFor(String namespace, Locality locality, Map<String, String> labels) {
    PolicySet view = views.view(views.signature(Map.of(), namespace), Map.of(), namespace);
    MeshResources translated = new MeshTranslator(15001, false).translate(view, List.of());
    MeshResources sent = localities.localize(translated, localities.caller(locality, labels), view);
    ClusterLoadAssignment a = sent.endpoints().stream()
        .filter(e -> e.getClusterName().equals("outbound|80||api.example.com")).findFirst().orElseThrow();
    Map<String, Integer> out = new TreeMap<>();
    for (LocalityLbEndpoints g : a.getEndpointsList()) {
      g.getLbEndpointsList().forEach(lb -> out.put(lb.getEndpoint().getAddress().getSocketAddress().getAddress(),
          g.getPriority()));
    }
    return out;
  }

  @Test
  void eachNamespacesOwnEntryIsOrderedByItsOwnEndpointsLabels() throws Exception {
    change(entry("shop", "10.7.0.1", "10.7.0.2"), entry("web", "10.8.0.1", "10.8.0.2"), RULE);
    assertThat(prioritiesFor("shop")).isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 1));
    assertThat(prioritiesFor("web")).isEqualTo(Map.of("10.8.0.1", 0, "10.8.0.2", 1));
  }

  @Test
  void theSameAddressesLabelledDifferentlyInTwoNamespacesAreEachTheirOwn() throws Exception {
    change(entry("shop", "10.7.0.1", "10.7.0.2"), entry("web", "10.7.0.2", "10.7.0.1"), RULE);
    assertThat(prioritiesFor("shop")).isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 1));
    assertThat(prioritiesFor("web")).isEqualTo(Map.of("10.7.0.2", 0, "10.7.0.1", 1));
    assertThat(prioritiesFor("shop")).as("asked again, from the cache").isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 1));
  }

  /** An entry of {@code namespace} with two endpoints in zones a and b of us-west, {@code annotation} on it. */
  private static String zonedEntry(String namespace, String annotation, String inA, String inB) {
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api, namespace: %s, annotations: { %s } }
        spec:
          hosts: [ api.example.com ]
          exportTo: [ "." ]
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          resolution: STATIC
          endpoints:
          - { address: %s, locality: us-west/a }
          - { address: %s, locality: us-west/b }
        """.formatted(namespace, annotation, inA, inB);
  }

  private static final String PREFER_CLOSE = "networking.istio.io/traffic-distribution: PreferClose";
  private static final Locality WEST_A = Locality.of(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
      .setRegion("us-west").setZone("a").build());

  @Test
  void aTrafficDistributionOnlyOneNamespaceSeesStillOrdersItsEndpoints() throws Exception {
    // Which namespace's entry the shared view keeps must not matter: try the annotation on each side.
    change(zonedEntry("shop", PREFER_CLOSE, "10.7.0.1", "10.7.0.2"), zonedEntry("web", "", "10.8.0.1", "10.8.0.2"));
    assertThat(prioritiesFor("shop", WEST_A, Map.of())).isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 1));
    assertThat(prioritiesFor("web", WEST_A, Map.of())).isEqualTo(Map.of("10.8.0.1", 0, "10.8.0.2", 0));
    change(zonedEntry("shop", "", "10.7.0.1", "10.7.0.2"), zonedEntry("web", PREFER_CLOSE, "10.8.0.1", "10.8.0.2"));
    assertThat(prioritiesFor("web", WEST_A, Map.of())).isEqualTo(Map.of("10.8.0.1", 0, "10.8.0.2", 1));
    assertThat(prioritiesFor("shop", WEST_A, Map.of())).isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 0));
  }

  @Test
  void aCallerWithLabelsButNoneOfThePriorityOnesMatchesEndpointsWithoutThem() throws Exception {
    // As istiod: only a proxy without any labels skips failoverPriority; a missing label is the empty value.
    change("""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api, namespace: shop }
        spec:
          hosts: [ api.example.com ]
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          resolution: STATIC
          endpoints:
          - { address: 10.7.0.1 }
          - { address: 10.7.0.2, labels: { tier: gold } }
        """, RULE);
    assertThat(prioritiesFor("shop", Locality.NONE, Map.of("app", "web")))
        .isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 1));
    assertThat(prioritiesFor("shop", Locality.NONE, Map.of())).as("no labels at all: one priority")
        .isEqualTo(Map.of("10.7.0.1", 0, "10.7.0.2", 0));
  }
}
