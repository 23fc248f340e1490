package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.Delegation;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio VirtualService delegation in translation: a root bound to a gateway delegates a path to a VirtualService
 * without hosts, whose rules are served under the conjunction of both matches (at the gateway and, for a mesh root,
 * in the sidecars); a missing delegate, one with hosts, a cycle, a delegate of a delegate and child matches outside the
 * root's are refused by field.
 */
class DelegationTranslationTest {
  private static final String GATEWAY = """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: product-service }
      spec:
        host: product-service
        subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers: [ { port: { number: 80, name: http, protocol: HTTP }, hosts: [ shop.example.com ] } ]
      """;

  static final String ROOT = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: shop }
      spec:
        hosts: [ shop.example.com ]
        gateways: [ istio-system/ingress ]
        http:
        - name: products
          match: [ { uri: { prefix: /products }, headers: { x-tenant: { exact: acme } } } ]
          delegate: { name: products }
        - name: rest
          route: [ { destination: { host: product-service, subset: v1 } } ]
      """;

  static final String CHILD = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: products }
      spec:
        http:
        - name: new
          match: [ { uri: { prefix: /products/new } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: all
          route: [ { destination: { host: product-service, subset: v1 } } ]
      """;

  @Test
  void theDelegatesRulesServeUnderTheRootsMatchAtTheGateway() throws Exception {
    PolicySet state = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + ROOT + "---\n" + CHILD).current();
    MeshResources gw = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    VirtualHost vh = gw.routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .filter(v -> v.getDomainsList().contains("shop.example.com")).findFirst().orElseThrow();
    assertThat(vh.getRoutesList()).extracting(Route::getName).containsExactly("VirtualService/shop/products/new",
        "VirtualService/shop/products/all", "VirtualService/shop/rest");
    Route fresh = vh.getRoutes(0);
    assertThat(fresh.getMatch().getPrefix()).as("the child's path, within the root's").isEqualTo("/products/new");
    assertThat(fresh.getMatch().getHeaders(0).getName()).as("the root's header, which the child leaves open")
        .isEqualTo("x-tenant");
    assertThat(fresh.getRoute().getCluster()).isEqualTo(MeshTranslator.subsetCluster("product-service", "v2"));
    Route all = vh.getRoutes(1);
    assertThat(all.getMatch().getPrefix()).as("a child rule without a match takes the root's").isEqualTo("/products");
    assertThat(all.getMatch().getHeadersCount()).isEqualTo(1);
    // A delegate has no hosts of its own: the sidecars get none of its routes.
    MeshResources mesh = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(mesh.routes().getFirst().getVirtualHostsList()).flatExtracting(VirtualHost::getRoutesList)
        .extracting(Route::getName).noneMatch(n -> n.contains("products"));
    // The data plane takes it.
    GatewayTranslationTest.dataPlaneTakes(gw, state, Map.of("istio", "ingressgateway"), "istio-system");
  }

  @Test
  void aMeshRootDelegatesInTheSidecars() throws Exception {
    PolicySet state = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + ROOT.replace(
        "hosts: [ shop.example.com ]\n  gateways: [ istio-system/ingress ]", "hosts: [ product-service ]") + "---\n"
        + CHILD).current();
    MeshResources mesh = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(mesh.routes().getFirst().getVirtualHostsList().stream().filter(v -> v.getName().equals("product-service"))
        .flatMap(v -> v.getRoutesList().stream()).map(Route::getName).toList())
        .containsExactly("VirtualService/shop/products/new", "VirtualService/shop/products/all", "VirtualService/shop/rest");
  }

  /** A mesh root VirtualService of namespace default delegating to {@link #TEAM_CHILD}. */
  private static final String MESH_ROOT = ROOT.replace(
      "hosts: [ shop.example.com ]\n  gateways: [ istio-system/ingress ]", "hosts: [ product-service ]")
      .replace("delegate: { name: products }", "delegate: { name: products, namespace: team }");
  /** The delegate of namespace team, exported to team only (not to its root's namespace). */
  private static final String TEAM_CHILD = CHILD.replace("metadata: { name: products }\nspec:\n",
      "metadata: { name: products, namespace: team }\nspec:\n  exportTo: [ team ]\n")
      .replace("host: product-service,", "host: product-service.default,");

  /**
   * istiod's {@code mergeVirtualServicesIfNeeded}: a delegate serves a root only when exported to the root's namespace
   * (its own {@code exportTo}, else meshConfig's {@code defaultVirtualServiceExportTo}); otherwise the root's delegating
   * rule serves nothing. Through a real xDS server and a data-plane xDS client, changed live.
   */
  @Test
  void aDelegateServesARootOnlyWhenExportedToTheRootsNamespace() throws Exception {
    String root = MESH_ROOT;
    String child = TEAM_CHILD;
    PolicyStore store = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + root + "---\n" + child);
    List<String> delegated = List.of("VirtualService/shop/products/new", "VirtualService/shop/products/all",
        "VirtualService/shop/rest");
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        var client = SourceMatchTranslationTest.client(xds, io.envoyproxy.envoy.config.core.v3.Node.newBuilder()
            .setId("web-1").setMetadata(com.google.protobuf.Struct.newBuilder()
                .putFields(NodeRegistration.SERVICE, SourceMatchTranslationTest.str("frontend"))
                .putFields(NodeRegistration.ADDRESS, SourceMatchTranslationTest.str("127.0.0.9"))).build())) {
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> xds.resourcesFor("web-1") != null);
      assertThat(routeNames(xds, "web-1")).as("exported to team only: not to the root's namespace, default")
          .containsExactly("VirtualService/shop/rest");
      // Each step goes from the hidden state to the exported one, so its wait cannot pass before its own push.
      List<String> hidden = List.of("VirtualService/shop/rest");
      for (String exported : List.of("exportTo: [ default ]", "exportTo: [ \"*\" ]")) {
        store.apply(PolicyParser.parse("child.yaml", child.replace("exportTo: [ team ]", exported)).policies(), false);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
            .until(() -> routeNames(xds, "web-1").equals(delegated));
        store.apply(PolicyParser.parse("child.yaml", child).policies(), false);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
            .until(() -> routeNames(xds, "web-1").equals(hidden));
      }
      // No exportTo of its own: the mesh default for VirtualServices, here "*".
      store.apply(PolicyParser.parse("child.yaml", child.replace("  exportTo: [ team ]\n", "")).policies(), false);
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
          .until(() -> routeNames(xds, "web-1").equals(delegated));
      // meshConfig's defaultVirtualServiceExportTo ".": the delegate's namespace (team) only, hidden from default's root.
      xds.setExportToDefaults(new ExportVisibility.Defaults(List.of("*"), List.of("."), List.of("*")));
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
          .until(() -> routeNames(xds, "web-1").equals(hidden));
    }
  }

  /** The "not exported" warning is logged once per change of its (root, delegate) pair, never from a dry run. */
  @Test
  void warnsOnceThatADelegateIsNotExportedToItsRoot() throws Exception {
    String root = MESH_ROOT;
    String child = TEAM_CHILD;
    PolicyStore store = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + root + "---\n" + child);
    SourceViews views = new SourceViews();
    views.changed(store.current(), "istio-system");
    views.changed(store.current(), "istio-system");
    assertThat(views.delegationWarnings()).as("the same pair, changed twice").isEqualTo(1);
    assertThat(SourceViews.of(store.current(), ExportVisibility.Defaults.PUBLIC, "istio-system").delegationWarnings())
        .as("a dry run").isZero();
    store.apply(PolicyParser.parse("child.yaml", child.replace("exportTo: [ team ]", "exportTo: [ default ]"))
        .policies(), false);
    views.changed(store.current(), "istio-system");
    store.apply(PolicyParser.parse("child.yaml", child).policies(), false);
    views.changed(store.current(), "istio-system");
    assertThat(views.delegationWarnings()).as("hidden again after being exported").isEqualTo(2);
  }

  private static List<String> routeNames(XdsServer xds, String node) {
    return xds.resourcesFor(node).routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .filter(vh -> vh.getName().equals("product-service")).flatMap(vh -> vh.getRoutesList().stream())
        .map(Route::getName).toList();
  }

  /**
   * A state with a source-conditioned match is resolved per calling proxy ({@link SourceMatches#view}); the delegating
   * rule must stay delegating there, both when a sibling rule carries the {@code sourceLabels} and when its own match
   * does, or its routes have no backends and the proxy refuses them.
   */
  @Test
  void aDelegatingRuleKeepsDelegatingWhenTheStateHasSourceMatches() throws Exception {
    String meshRoot = ROOT.replace("hosts: [ shop.example.com ]\n  gateways: [ istio-system/ingress ]",
        "hosts: [ product-service ]");
    String sibling = meshRoot.replace("- name: rest\n",
        "- name: canary\n    match: [ { sourceLabels: { track: canary } } ]\n"
            + "    route: [ { destination: { host: product-service, subset: v2 } } ]\n  - name: rest\n");
    String own = meshRoot.replace("headers: { x-tenant: { exact: acme } } }",
        "headers: { x-tenant: { exact: acme } }, sourceLabels: { track: canary } }");
    for (String root : List.of(sibling, own)) {
      PolicySet state = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + root + "---\n" + CHILD).current();
      PolicySet seen = SourceMatches.view(state, Map.of("track", "canary"), "default");
      assertThat(seen).as("the state is resolved for the caller").isNotSameAs(state);
      MeshResources mesh = new MeshTranslator(15001, false).translate(seen, List.of());
      List<Route> routes = mesh.routes().getFirst().getVirtualHostsList().stream()
          .filter(v -> v.getName().equals("product-service")).flatMap(v -> v.getRoutesList().stream()).toList();
      assertThat(routes).extracting(Route::getName).as(root).startsWith("VirtualService/shop/products/new",
          "VirtualService/shop/products/all");
      assertThat(routes.getFirst().getRoute().getCluster()).as("the child's backend")
          .isEqualTo(MeshTranslator.subsetCluster("product-service", "v2"));
      assertThat(Mesh.dataPlane(mesh).warnings()).as("the data plane takes the routes").isEmpty();
    }
  }

  /** istiod's mergeHTTPRoute: each option a child rule leaves unset is the root rule's, whole. */
  @Test
  void theRootRulesOptionsApplyToTheChildRulesThatSetNone() throws Exception {
    String root = ROOT.replace("    delegate: { name: products }\n", """
            delegate: { name: products }
            rewrite: { uri: /catalog }
            timeout: 7s
            retries: { attempts: 4, perTryTimeout: 2s, retryOn: 5xx }
            fault: { abort: { httpStatus: 418, percentage: { value: 10 } } }
            mirrors: [ { destination: { host: product-service, subset: v1 }, percentage: { value: 5 } } ]
            corsPolicy: { allowOrigins: [ { exact: "https://shop.example.com" } ] }
            headers: { request: { set: { x-shop: root } }, response: { add: { x-via: root } } }
        """);
    String child = CHILD.replace("    route: [ { destination: { host: product-service, subset: v2 } } ]\n", """
            route: [ { destination: { host: product-service, subset: v2 } } ]
            timeout: 1s
            headers: { response: { set: { x-new: "1" } } }
            mirror: { host: product-service, subset: v1 }
        """);
    PolicySet state = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + root + "---\n" + child).current();
    List<Policy.Rule> rules = Delegation.rules(state, (Policy.Routes) state.get("VirtualService", "shop"));
    Policy.Rule fresh = rules.get(0);
    Policy.Rule all = rules.get(1);
    // The catch-all child sets nothing: it takes every option of the root rule.
    assertThat(all.rewrite().prefix()).isEqualTo("/catalog");
    assertThat(all.timeout()).isEqualTo(Duration.ofSeconds(7));
    assertThat(all.retry()).isNotNull().isEqualTo(fresh.retry());
    assertThat(all.fault().httpStatus()).isEqualTo(418);
    assertThat(all.cors().allowOrigins()).hasSize(1);
    assertThat(all.requestHeaders().set()).containsEntry("x-shop", "root");
    assertThat(all.responseHeaders().add()).containsEntry("x-via", "root");
    assertThat(all.mirrors()).extracting(m -> m.backend().subset()).containsExactly("v1");
    // "new" sets timeout, headers and mirror: its own win whole (the root's request headers are not added to its
    // response-only headers), and it keeps the root's mirrors list beside its own mirror: istiod inherits mirror and
    // mirrors each on its own.
    assertThat(fresh.timeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(fresh.requestHeaders().isEmpty()).isTrue();
    assertThat(fresh.responseHeaders().set()).containsOnlyKeys("x-new");
    assertThat(fresh.mirrors()).extracting(m -> m.backend().subset()).containsExactly("v1", "v1");
    assertThat(fresh.mirrors().get(1).field()).isEqualTo("mirrors[0].destination");
    assertThat(fresh.rewrite().prefix()).isEqualTo("/catalog");
    // In the gateway's routes: the merged options become each route's own.
    MeshResources gw = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    Route r = gw.routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .flatMap(v -> v.getRoutesList().stream()).filter(x -> x.getName().equals("VirtualService/shop/products/all"))
        .findFirst().orElseThrow();
    assertThat(r.getRoute().getTimeout().getSeconds()).isEqualTo(7);
    assertThat(r.getRoute().getPrefixRewrite()).isEqualTo("/catalog");
    assertThat(r.getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(4);
    assertThat(r.getRequestHeadersToAddList()).anyMatch(h -> h.getHeader().getKey().equals("x-shop"));
    assertThat(r.getRoute().getRequestMirrorPoliciesCount()).isEqualTo(1);
    GatewayTranslationTest.dataPlaneTakes(gw, state, Map.of("istio", "ingressgateway"), "istio-system");
  }

  /** istiod merges mirror and mirrorPercentage separately: a child's mirror without a percentage takes the root's. */
  @Test
  void aChildMirrorWithoutAPercentageTakesTheRootsMirrorPercentage() throws Exception {
    String root = ROOT.replace("    delegate: { name: products }\n", """
            delegate: { name: products }
            mirror: { host: product-service, subset: v1 }
            mirrorPercentage: { value: 5 }
        """);
    String child = CHILD.replace("    route: [ { destination: { host: product-service, subset: v2 } } ]\n", """
            route: [ { destination: { host: product-service, subset: v2 } } ]
            mirror: { host: product-service, subset: v2 }
        """);
    PolicySet state = store(Mesh.registry(9001, 9002) + GATEWAY + "---\n" + root + "---\n" + child).current();
    List<Policy.Rule> rules = Delegation.rules(state, (Policy.Routes) state.get("VirtualService", "shop"));
    assertThat(rules.get(0).mirrors()).singleElement().satisfies(m -> {
      assertThat(m.backend().subset()).as("the child's mirror").isEqualTo("v2");
      assertThat(m.perMillion()).as("at the root's 5%").isEqualTo(50_000);
    });
    assertThat(rules.get(1).mirrors()).singleElement().satisfies(m -> assertThat(m.perMillion()).isEqualTo(50_000));
    MeshResources gw = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    Route r = gw.routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .flatMap(v -> v.getRoutesList().stream()).filter(x -> x.getName().equals("VirtualService/shop/products/new"))
        .findFirst().orElseThrow();
    assertThat(r.getRoute().getRequestMirrorPolicies(0).getRuntimeFraction().getDefaultValue().getNumerator())
        .isEqualTo(50_000);
    GatewayTranslationTest.dataPlaneTakes(gw, state, Map.of("istio", "ingressgateway"), "istio-system");
  }

  @Test
  void badDelegationsAreRefusedByField() throws Exception {
    String base = Mesh.registry(9001, 9002) + GATEWAY + "---\n";
    assertThatThrownBy(() -> store(base + ROOT)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("VirtualService/shop: spec.http[0].delegate.name: no VirtualService 'products'");
    assertThatThrownBy(() -> store(base + ROOT + "---\n" + CHILD.replace("spec:\n", "spec:\n  hosts: [ product-service ]\n")))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.http[0].delegate.name: VirtualService 'products' has hosts");
    assertThatThrownBy(() -> store(base + ROOT.replace("delegate: { name: products }", "delegate: { name: shop }")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("a delegation cycle");
    assertThatThrownBy(() -> store(base + ROOT + "---\n" + CHILD.replace("uri: { prefix: /products/new }",
        "uri: { prefix: /orders }"))).isInstanceOf(PolicyException.class)
        .hasMessageContaining("VirtualService/shop: spec.http[0].delegate.name: VirtualService 'products' http[0]: its"
            + " uri prefix '/orders' is not within the root's uri prefix '/products'");
    // The delegate applied on its own later: its own document is refused, naming the root.
    PolicyStore store = store(base + ROOT + "---\n" + CHILD);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("child.yaml", CHILD.replace("uri: { prefix: /products/new }",
        "uri: { prefix: /orders }")).policies(), false)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("VirtualService/products: spec.http[0].match: its uri prefix '/orders' is not within the"
            + " root's uri prefix '/products' (VirtualService/shop delegates to this VirtualService)");
    assertThatThrownBy(() -> PolicyParser.parse("c.yaml", CHILD.replace("spec:\n", "spec:\n  gateways: [ mesh ]\n")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("spec.gateways: a VirtualService without hosts is a"
            + " delegate");
    assertThatThrownBy(() -> PolicyParser.parse("c.yaml", CHILD.replace(
        "route: [ { destination: { host: product-service, subset: v1 } } ]", "delegate: { name: more }")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("cannot delegate again");
    assertThatThrownBy(() -> PolicyParser.parse("r.yaml", ROOT.replace("delegate: { name: products }",
        "delegate: { name: products }\n    route: [ { destination: { host: product-service } } ]")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("spec.http[0].route: a rule with a delegate has no"
            + " route of its own");
  }

  private static PolicyStore store(String yaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store;
  }
}
