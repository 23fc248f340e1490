package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** No document can put one domain in two virtual hosts of a RouteConfiguration (every sidecar would NACK it). */
class RouteDomainUniquenessTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: shop }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: ratings, namespace: shop }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      """;

  private static String route(String name, String parent, String hostname) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: %s, namespace: shop }
        spec:
          parentRefs: [ { group: "", kind: Service, name: %s } ]
          hostnames: [ %s ]
          rules: [ { backendRefs: [ { name: %s, port: 9080 } ] } ]
        """.formatted(name, parent, hostname, parent);
  }

  @Test
  void refusesRouteHostnameThatIsAnotherServicesName() {
    for (String name : List.of("ratings.shop", "ratings.shop.svc", "ratings.shop.svc.cluster.local")) {
      assertThatThrownBy(() -> new PolicyStore().apply(PolicyParser.parse("mesh.yaml",
          SERVICES + route("r", "reviews", name)).policies(), false))
          .hasMessageContaining("HTTPRoute/shop/r: spec.hostnames[0]: '" + name
              + "' is already a name of service 'ratings.shop'");
    }
  }

  @Test
  void refusesRouteHostnameThatIsAnotherRoutesOfAnotherService() {
    assertThatThrownBy(() -> new PolicyStore().apply(PolicyParser.parse("mesh.yaml",
        SERVICES + route("a", "reviews", "api.shop.example") + "---\n" + route("b", "ratings", "api.shop.example"))
        .policies(), false))
        .hasMessageContaining("spec.hostnames[0]: 'api.shop.example' is already a name of route HTTPRoute/shop/");
  }

  @Test
  void aShortHostnameOfAnotherNamespacesServiceIsThatServicesForItsClients() throws Exception {
    String web = """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: stock, namespace: web }
        spec: { ports: [ { name: http, port: 9080 } ] }
        ---
        """;
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", SERVICES + web + route("r", "reviews", "stock")).policies(), false);
    MeshResources shared = new MeshTranslator(15001, false).translate(store.current(), List.of());
    DistinctDomains domains = new DistinctDomains();
    // namespace web's apps resolve stock to their own Service (Kubernetes' search path): its virtual host has it
    MeshResources inWeb = ClientNamespaceNames.apply(shared, store.current(), "web", domains);
    assertThat(domainsOf(inWeb, "stock.web")).contains("stock");
    assertThat(domainsOf(inWeb, "reviews.shop")).doesNotContain("stock");
    assertThat(domains.warnings()).as("no clash left to warn about").isZero();
    // anywhere else the route's hostname is reviews'
    assertThat(domainsOf(ClientNamespaceNames.apply(shared, store.current(), "shop"), "reviews.shop")).contains("stock");
  }

  /**
   * The short name of a Service of the route's own namespace is accepted, as istiod accepts it (a Gateway API hostname
   * has no short-name reading); the namespace's own clients have the name as the Service's, not the route's.
   */
  @Test
  void aShortHostnameOfAServiceOfTheRoutesNamespaceIsAccepted() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", SERVICES + route("r", "reviews", "ratings")).policies(), false);
    MeshResources shared = new MeshTranslator(15001, false).translate(store.current(), List.of());
    assertThat(domainsOf(shared, "reviews.shop")).contains("ratings");
    DistinctDomains domains = new DistinctDomains();
    MeshResources inShop = ClientNamespaceNames.apply(shared, store.current(), "shop", domains);
    assertThat(domainsOf(inShop, "ratings.shop")).contains("ratings");
    assertThat(domainsOf(inShop, "reviews.shop")).doesNotContain("ratings");
    assertThat(duplicates(inShop.routes())).isEmpty();
    assertThat(domains.warnings()).as("no clash to warn about").isZero();
  }

  /** A Service of namespace default has its short name in the shared route config: no route may take it. */
  @Test
  void refusesRouteHostnameThatIsTheShortNameOfANamespaceDefaultService() {
    String stock = """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: stock }
        spec: { ports: [ { name: http, port: 9080 } ] }
        ---
        """;
    assertThatThrownBy(() -> new PolicyStore().apply(PolicyParser.parse("mesh.yaml",
        SERVICES + stock + route("r", "reviews", "stock")).policies(), false))
        .hasMessageContaining("HTTPRoute/shop/r: spec.hostnames[0]: 'stock' is already a name of service 'stock'");
  }

  private static List<String> domainsOf(MeshResources r, String virtualHost) {
    return r.routes().getFirst().getVirtualHostsList().stream().filter(vh -> vh.getName().equals(virtualHost))
        .findFirst().orElseThrow().getDomainsList();
  }

  @Test
  void acceptsOwnNamesAndNewHostnames() throws Exception {
    new PolicyStore().apply(PolicyParser.parse("mesh.yaml", SERVICES + route("a", "reviews",
        "reviews.shop.svc.cluster.local") + "---\n" + route("b", "reviews", "api.shop.example")).policies(), false);
  }

  @Test
  void translatorKeepsEachDomainInItsFirstVirtualHostOnly() throws Exception {
    // Past admission (say, a store written by an older control plane): the translation still must not NACK the mesh.
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml",
        SERVICES + route("r", "reviews", "ratings.shop.svc.cluster.local")).policies());
    MeshResources r = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(duplicates(r.routes())).isEmpty();
    VirtualHost ratings = r.routes().getFirst().getVirtualHostsList().stream()
        .filter(vh -> vh.getName().equals("ratings.shop")).findFirst().orElseThrow();
    VirtualHost reviews = r.routes().getFirst().getVirtualHostsList().stream()
        .filter(vh -> vh.getName().equals("reviews.shop")).findFirst().orElseThrow();
    // ratings' virtual host comes first (documents in key order): it keeps its own name, the route's hostname goes.
    assertThat(ratings.getDomainsList()).contains("ratings.shop.svc.cluster.local");
    assertThat(reviews.getDomainsList()).doesNotContain("ratings.shop.svc.cluster.local").contains("reviews.shop");
  }

  @Test
  void warnsOfAClashOncePerTranslationsOfOneStateAndAgainOnlyWhenItComesBack() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml",
        SERVICES + route("r", "reviews", "ratings.shop.svc")).policies());
    DistinctDomains domains = new DistinctDomains(); // an xDS server's: its translators share it
    MeshTranslator translator = translator(domains);
    ChangeWarnings.quietly(() -> translator.translate(state, List.of()));
    assertThat(domains.warnings()).as("a dry run's translation").isZero();
    translator.translate(state, List.of());
    translator(domains).translate(state, List.of());
    assertThat(domains.warnings()).as("two translations of one clash").isEqualTo(1);
    domains.changed();
    translator.translate(state, List.of());
    assertThat(domains.warnings()).as("a change that keeps the clash").isEqualTo(1);
    domains.changed();
    domains.changed(); // a state without it
    translator.translate(state, List.of());
    assertThat(domains.warnings()).as("the clash back").isEqualTo(2);
    // another server's translators remember for themselves: the clash is news to them, and nothing to this one
    DistinctDomains other = new DistinctDomains();
    translator(other).translate(state, List.of());
    assertThat(other.warnings()).isEqualTo(1);
    assertThat(domains.warnings()).isEqualTo(2);
  }

  private static MeshTranslator translator(DistinctDomains domains) {
    return new MeshTranslator(15001, false, false, OutboundTrafficPolicy.ALLOW_ANY, java.time.Duration.ZERO,
        MeshTranslator.DEFAULT_TRUST_DOMAIN, domains);
  }

  @Test
  void distinctDomainsCopiesNothingWithoutAClash() {
    RouteConfiguration rc = RouteConfiguration.newBuilder().setName("x")
        .addVirtualHosts(VirtualHost.newBuilder().setName("a").addDomains("a.example").addDomains("b.example"))
        .addVirtualHosts(VirtualHost.newBuilder().setName("b").addDomains("c.example").addDomains("A.example")
            .addDomains("d.example"))
        .build();
    RouteConfiguration kept = new DistinctDomains().of(rc);
    assertThat(kept.getVirtualHosts(0)).isSameAs(rc.getVirtualHosts(0));
    assertThat(kept.getVirtualHosts(1).getDomainsList()).containsExactly("c.example", "d.example");
    List<RouteConfiguration> fine = List.of(rc.toBuilder().removeVirtualHosts(1).build());
    assertThat(new DistinctDomains().of(fine)).isSameAs(fine);
  }

  @Test
  void distinctDomainsDropsAVirtualHostLeftWithoutDomains() {
    RouteConfiguration rc = RouteConfiguration.newBuilder().setName("x")
        .addVirtualHosts(VirtualHost.newBuilder().setName("a").addDomains("a.example").addDomains("B.example"))
        .addVirtualHosts(VirtualHost.newBuilder().setName("b").addDomains("b.example"))
        .build();
    RouteConfiguration kept = new DistinctDomains().of(rc);
    assertThat(kept.getVirtualHostsList()).extracting(VirtualHost::getName).containsExactly("a");
    RouteConfiguration fine = rc.toBuilder().setVirtualHosts(1, VirtualHost.newBuilder().setName("b")
        .addDomains("c.example")).build();
    assertThat(new DistinctDomains().of(fine)).isSameAs(fine);
  }

  @Test
  void refusesANamespaceThatIsNotADns1123Label() {
    for (String ns : List.of("shop.svc", "Shop", "-shop", "a".repeat(64))) {
      assertThatThrownBy(() -> PolicyParser.parse("mesh.yaml", SERVICES.replace("name: ratings, namespace: shop",
          "name: ratings, namespace: " + ns)))
          .hasMessageContaining("metadata.namespace: '" + ns + "' is not a namespace name; expected a DNS-1123 label");
    }
    assertThatThrownBy(() -> PolicyParser.parse("ns.yaml", """
        apiVersion: v1
        kind: Namespace
        metadata: { name: shop.svc }
        """)).hasMessageContaining("metadata.name: 'shop.svc' is not a namespace name");
  }

  private static List<String> duplicates(List<RouteConfiguration> routes) {
    List<String> dups = new ArrayList<>();
    for (RouteConfiguration rc : routes) {
      Set<String> seen = new HashSet<>();
      for (VirtualHost vh : rc.getVirtualHostsList()) {
        vh.getDomainsList().stream().filter(d -> !seen.add(d)).forEach(d -> dups.add(rc.getName() + ":" + d));
      }
    }
    return dups;
  }
}
