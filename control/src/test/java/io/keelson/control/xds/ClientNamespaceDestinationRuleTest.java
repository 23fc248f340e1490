package io.keelson.control.xds;

import static io.keelson.control.xds.SourceMatchTranslationTest.client;
import static io.keelson.control.xds.SourceMatchTranslationTest.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * istiod's DestinationRule lookup per client: the client's namespace's rule for the host first, then the service's
 * namespace's, then the root namespace's ({@code istio-system}); a rule of any other namespace is its own clients'
 * only. Clusters then differ per client namespace, translated once per namespace that has rules of its own, shared by
 * every other proxy.
 */
class ClientNamespaceDestinationRuleTest {
  private static final String ROOT = "istio-system";

  private static final String A_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: shop-reviews, namespace: a }
      spec:
        host: reviews.shop
        trafficPolicy: { loadBalancer: { simple: RANDOM } }
        subsets: [ { name: from-a, labels: { version: v1 } } ]
      """;

  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: shop }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-1, namespace: shop }
      spec: { service: reviews, address: 127.0.0.31, port: 19080, labels: { version: v1 } }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews, namespace: shop }
      spec:
        host: reviews
        trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }
        subsets: [ { name: from-shop, labels: { version: v1 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews, namespace: istio-system }
      spec:
        host: reviews.shop.svc.cluster.local
        subsets: [ { name: from-root, labels: { version: v1 } } ]
      ---
      """ + A_RULE;

  private static PolicySet state(String yaml) throws PolicyException {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store.current();
  }

  private static String ruleFor(PolicySet state, String clientNamespace) {
    var dr = new DestinationRuleLookup(state, ROOT).forClient("reviews.shop", clientNamespace);
    return dr == null ? null : dr.meta().key();
  }

  @Test
  void theClientsNamespaceBeatsTheServicesWhichBeatsTheRoot() throws Exception {
    PolicySet state = state(MESH);
    assertThat(ruleFor(state, "a")).isEqualTo("DestinationRule/a/shop-reviews");
    assertThat(ruleFor(state, "b")).as("no rule of b: the service's namespace's").isEqualTo("DestinationRule/shop/reviews");
    assertThat(ruleFor(state, "shop")).isEqualTo("DestinationRule/shop/reviews");
    assertThat(ruleFor(state, "default")).isEqualTo("DestinationRule/shop/reviews");
    assertThat(ruleFor(state, ROOT)).as("istiod: the root's clients take the service's namespace's before the root's"
        + " exported rules").isEqualTo("DestinationRule/shop/reviews");
    assertThat(ruleFor(state, null)).isEqualTo("DestinationRule/shop/reviews");
    PolicySet withoutShops = state.without(p -> p.meta().key().equals("DestinationRule/shop/reviews"));
    assertThat(ruleFor(withoutShops, "b")).as("then the root's").isEqualTo("DestinationRule/istio-system/reviews");
    assertThat(ruleFor(withoutShops, "a")).isEqualTo("DestinationRule/a/shop-reviews");
    PolicySet onlyA = withoutShops.without(p -> p.meta().key().equals("DestinationRule/istio-system/reviews"));
    assertThat(ruleFor(onlyA, "b")).as("a's rule is a's clients' only").isNull();

    // Translated: each view has one rule per host, so its clusters are that rule's.
    DestinationRuleLookup lookup = new DestinationRuleLookup(state, ROOT);
    assertThat(lookup.ownRulesFor("a")).isTrue();
    assertThat(lookup.ownRulesFor("b")).as("b's clients share the common view").isFalse();
    assertThat(lookup.ownRulesFor("shop")).as("its rule is the common pick").isFalse();
    MeshTranslator t = new MeshTranslator(15001, false);
    MeshResources forA = t.translate(lookup.view("a"), List.of());
    MeshResources shared = t.translate(lookup.view(null), List.of());
    assertThat(clusterNames(forA)).contains("reviews.shop|from-a").doesNotContain("reviews.shop|from-shop",
        "reviews.shop|from-root");
    assertThat(cluster(forA, "reviews.shop").getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
    assertThat(clusterNames(shared)).contains("reviews.shop|from-shop").doesNotContain("reviews.shop|from-a",
        "reviews.shop|from-root");
    assertThat(cluster(shared, "reviews.shop").getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
  }

  @Test
  void theRootsClientsTakeItsNamespaceLocalRuleFirst() throws Exception {
    // istiod's rootNamespaceLocal: a root rule exported to "." (or to the root by name, or by meshConfig's
    // defaultDestinationRuleExportTo) beats the service's namespace's rule for the root's own clients only.
    PolicySet local = state(MESH.replace("""
        metadata: { name: reviews, namespace: istio-system }
        spec:
        """, """
        metadata: { name: reviews, namespace: istio-system }
        spec:
          exportTo: [ "." ]
        """));
    assertThat(ruleFor(local, ROOT)).isEqualTo("DestinationRule/istio-system/reviews");
    assertThat(ruleFor(local, "b")).isEqualTo("DestinationRule/shop/reviews");
    assertThat(new DestinationRuleLookup(local, ROOT).ownRulesFor(ROOT)).isTrue();
    PolicySet byName = state(MESH.replace("""
        metadata: { name: reviews, namespace: istio-system }
        spec:
        """, """
        metadata: { name: reviews, namespace: istio-system }
        spec:
          exportTo: [ istio-system, b ]
        """));
    assertThat(ruleFor(byName, ROOT)).isEqualTo("DestinationRule/istio-system/reviews");
    PolicySet state = state(MESH);
    assertThat(new DestinationRuleLookup(state, ROOT, List.of(".")).forClient("reviews.shop", ROOT).meta().key())
        .as("meshConfig defaultDestinationRuleExportTo: [.]").isEqualTo("DestinationRule/istio-system/reviews");
  }

  @Test
  void aRuleNotExportedToTheClientsNamespaceIsSkippedForTheNextInIstiodsOrder() throws Exception {
    // shop's rule is exported to shop only: b's clients (no rule of their own) fall through to the root's, as istiod
    // looks rules up among those visible to the client; shop's own clients keep shop's.
    PolicySet state = state(MESH.replace("""
        metadata: { name: reviews, namespace: shop }
        spec:
          host: reviews
        """, """
        metadata: { name: reviews, namespace: shop }
        spec:
          exportTo: [ "." ]
          host: reviews
        """));
    SourceViews views = new SourceViews();
    views.changed(state, ROOT);
    PolicySet forB = views.view(views.signature(java.util.Map.of(), "b"), java.util.Map.of(), "b");
    PolicySet forShop = views.view(views.signature(java.util.Map.of(), "shop"), java.util.Map.of(), "shop");
    MeshTranslator t = new MeshTranslator(15001, false);
    assertThat(clusterNames(t.translate(forB, List.of()))).contains("reviews.shop|from-root")
        .doesNotContain("reviews.shop|from-shop", "reviews.shop|from-a");
    assertThat(clusterNames(t.translate(forShop, List.of()))).contains("reviews.shop|from-shop")
        .doesNotContain("reviews.shop|from-root");
    SourceViews dryRun = SourceViews.of(state, ExportVisibility.Defaults.PUBLIC, ROOT);
    PolicySet seenByB = dryRun.view(dryRun.signature(java.util.Map.of(), "b"), java.util.Map.of(), "b");
    assertThat(clusterNames(t.translate(seenByB, List.of()))).as("the dry run's stateless view agrees")
        .contains("reviews.shop|from-root").doesNotContain("reviews.shop|from-shop");
  }

  @Test
  void twoRulesForOneHostInOneNamespaceAreRefusedInTwoNamespacesAccepted() throws Exception {
    assertThat(state(MESH).ofType(io.keelson.control.policy.Policy.DestinationRule.class)).hasSize(3);
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: second, namespace: a }
        spec: { host: reviews.shop.svc.cluster.local }
        """)).hasMessageContaining("DestinationRule/a/second: spec.host: service 'reviews.shop' already has"
        + " DestinationRule/a/shop-reviews in namespace a; expected one DestinationRule per host in a namespace");
  }

  @Test
  void sidecarsOfTwoNamespacesGetTheirOwnRulesTranslatedOncePerNamespace() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient a1 = client(xds, node("a-1", "a"));
        XdsClient a2 = client(xds, node("a-2", "a"));
        XdsClient b1 = client(xds, node("b-1", "b"));
        XdsClient b2 = client(xds, node("b-2", "b"));
        XdsClient gatewayA = client(xds, gateway("gateway-a", "a"));
        XdsClient gatewayB = client(xds, gateway("gateway-b", "b"))) {
      List<String> nodes = List.of("a-1", "a-2", "b-1", "b-2", "gateway-a", "gateway-b");
      await().atMost(Duration.ofSeconds(20)).until(() -> xds.registeredWorkloads().size() == 4
          && nodes.stream().allMatch(n -> xds.resourcesFor(n) != null));
      for (String n : List.of("a-1", "a-2")) {
        assertThat(cluster(xds.resourcesFor(n), "reviews.shop").getLbPolicy()).as(n).isEqualTo(Cluster.LbPolicy.RANDOM);
        assertThat(clusterNames(xds.resourcesFor(n))).as(n).contains("reviews.shop|from-a")
            .doesNotContain("reviews.shop|from-shop");
      }
      for (String n : List.of("b-1", "b-2")) {
        assertThat(cluster(xds.resourcesFor(n), "reviews.shop").getLbPolicy()).as(n)
            .isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
        assertThat(clusterNames(xds.resourcesFor(n))).as(n).contains("reviews.shop|from-shop")
            .doesNotContain("reviews.shop|from-a");
      }
      // Gateways look their rules up in their own namespace too.
      assertThat(cluster(xds.resourcesFor("gateway-a"), "reviews.shop").getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
      assertThat(cluster(xds.resourcesFor("gateway-b"), "reviews.shop").getLbPolicy())
          .isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
      assertThat(xds.sourceTranslations()).as("namespace a's sidecars' and gateway's; b's proxies share the common one")
          .isEqualTo(2);

      // A dry run of a change to a's rule names only a's proxies.
      PolicySet before = store.current();
      PolicySet after = before.with(PolicyParser.parse("a.yaml", A_RULE.replace("RANDOM", "ROUND_ROBIN")).policies());
      assertThat(xds.changedFor(before, after)).containsOnlyKeys("a-1", "a-2", "gateway-a");
      // Its views are memoised per signature: one rule lookup per state and per namespace's export view, not four per
      // proxy (six proxies here).
      PolicySet hidden = before.with(PolicyParser.parse("private.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: vault, namespace: shop, annotations: { networking.istio.io/exportTo: "." } }
          spec: { ports: [ { name: http, port: 80 } ] }
          """).policies());
      assertThat(xds.changedFor(before, hidden)).isEmpty();
      assertThat(xds.dryRunLookups).as("before: the state's; after: it and one per namespace's view (a, b)")
          .isEqualTo(1 + 3);

      // Live: shop's rule deleted, b's proxies fall back to the root namespace's; a's keep their own.
      store.delete("DestinationRule", "shop", "reviews", false);
      await().atMost(Duration.ofSeconds(20)).until(() -> clusterNames(xds.resourcesFor("b-1"))
          .contains("reviews.shop|from-root"));
      assertThat(cluster(xds.resourcesFor("b-1"), "reviews.shop").getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
      assertThat(clusterNames(xds.resourcesFor("a-1"))).contains("reviews.shop|from-a")
          .doesNotContain("reviews.shop|from-root");
    }
  }

  private static List<String> clusterNames(MeshResources r) {
    return r.clusters().stream().map(Cluster::getName).toList();
  }

  private static Cluster cluster(MeshResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  /** A plaintext ingress gateway of {@code namespace} (its node metadata's): no workload. */
  private static Node gateway(String id, String namespace) {
    Struct md = Struct.newBuilder()
        .putFields(NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
        .putFields(NodeRegistration.NAMESPACE, str(namespace))
        .build();
    return Node.newBuilder().setId(id).setCluster(id).setMetadata(md).build();
  }

  private static Node node(String id, String namespace) {
    Struct md = Struct.newBuilder()
        .putFields(NodeRegistration.SERVICE, str("web"))
        .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(15006).build())
        .putFields(NodeRegistration.ADDRESS, str("127.0.0.9"))
        .putFields(NodeRegistration.SPIFFE_ID, str("spiffe://cluster.local/ns/" + namespace + "/sa/web"))
        .build();
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }
}
