package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's per-proxy HTTP match conditions in translation: {@code sourceLabels} and {@code sourceNamespace} (a real xDS
 * server and data-plane xDS clients with different workload labels and namespaces get different routes for one host,
 * one translation per distinct signature, never another signature's) and a match's {@code gateways} (on the named
 * gateway, not in the mesh, and the other way round); a rule whose every match is left out is no catch-all.
 */
class SourceMatchTranslationTest {
  private static final String ROUTES = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product }
      spec:
        hosts: [ product-service ]
        http:
        - name: from-canary
          match: [ { sourceLabels: { track: canary } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: from-shop
          match: [ { sourceNamespace: shop, uri: { prefix: /cart } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - name: rest
          route: [ { destination: { host: product-service, subset: v1 } } ]
      """;

  private static final String DR = """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: product-service }
      spec:
        host: product-service
        subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
      """;

  @Test
  void workloadsWithDifferentLabelsAndNamespacesGetTheirOwnRoutesOneTranslationPerSignature() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", Mesh.registry(9001, 9002) + DR + "---\n" + ROUTES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient canary1 = client(xds, node("canary-1", Map.of("app", "web", "track", "canary"), null));
        XdsClient canary2 = client(xds, node("canary-2", Map.of("track", "canary"), null));
        XdsClient stable = client(xds, node("stable-1", Map.of("app", "web", "track", "stable"), null));
        XdsClient shop = client(xds, node("shop-1", Map.of("app", "web"), "spiffe://cluster.local/ns/shop/sa/web"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().size() == 4
          && List.of("canary-1", "canary-2", "stable-1", "shop-1").stream().allMatch(n -> xds.resourcesFor(n) != null));
      assertThat(routeNames(xds, "canary-1")).containsExactly("VirtualService/product/from-canary",
          "VirtualService/product/rest");
      assertThat(routeNames(xds, "stable-1")).as("its labels do not include track: canary; no catch-all left behind")
          .containsExactly("VirtualService/product/rest");
      assertThat(routeNames(xds, "shop-1")).containsExactly("VirtualService/product/from-shop",
          "VirtualService/product/rest");
      // The match kept in shop's routes is its own (uri) without the source condition.
      assertThat(route(xds, "shop-1", "VirtualService/product/from-shop").getMatch().getPrefix()).isEqualTo("/cart");
      // Two canary proxies (other labels besides) share one translation; each signature has its own.
      assertThat(outbound(xds, "canary-1")).isSameAs(outbound(xds, "canary-2")).isNotSameAs(outbound(xds, "stable-1"));
      assertThat(xds.sourceTranslations()).isEqualTo(3);
      // What the proxies were sent is what they run: the data plane takes it.
      Mesh.dataPlane(xds.resourcesFor("canary-1"));

      // A dry run of a change to the canary rule names only the proxies it reaches.
      PolicySet before = store.current();
      PolicySet after = before.with(PolicyParser.parse("r.yaml", ROUTES.replace("subset: v2 } } ]\n  - name: from-shop",
          "subset: v1 } } ]\n  - name: from-shop")).policies());
      assertThat(xds.changedFor(before, after)).containsOnlyKeys("canary-1", "canary-2");

      // Live: the labels condition removed, every proxy takes the rule.
      store.apply(PolicyParser.parse("r.yaml", ROUTES.replace("match: [ { sourceLabels: { track: canary } } ]", ""))
          .policies(), false);
      assertThat(routeNames(xds, "stable-1")).containsExactly("VirtualService/product/from-canary",
          "VirtualService/product/rest");
    }
  }

  @Test
  void stateNotResolvedForAProxyLeavesSourceMatchesOutAndAddsNoCatchAll() throws Exception {
    MeshResources r = Mesh.translateWithRegistry(DR.substring(4) + "---\n" + ROUTES);
    assertThat(r.routes().getFirst().getVirtualHostsList().getFirst().getRoutesList()).extracting(Route::getName)
        .containsExactly("VirtualService/product/rest");
  }

  @Test
  void aMatchsGatewaysOverrideTheVirtualServicesOnGatewayAndInTheMesh() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml", GatewayTranslationTest.MESH.replace("""
        metadata: { name: both }
        spec:
          hosts: [ product-service, api.apps.example.com ]
          gateways: [ mesh, istio-system/ingress ]
          http:
        """, """
        metadata: { name: both }
        spec:
          hosts: [ product-service, api.apps.example.com ]
          gateways: [ mesh, istio-system/ingress ]
          http:
          - name: at-gateway
            match: [ { gateways: [ istio-system/ingress ], uri: { prefix: /admin } } ]
            route: [ { destination: { host: product-service, subset: v1 } } ]
          - name: in-mesh
            match: [ { gateways: [ mesh ], headers: { x-debug: { exact: "1" } } } ]
            route: [ { destination: { host: product-service, subset: v1 } } ]
        """)).policies());
    MeshResources gw = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    List<VirtualHost> atGateway = gw.routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .filter(vh -> vh.getDomainsList().contains("api.apps.example.com")).toList();
    assertThat(atGateway).isNotEmpty().allSatisfy(vh -> assertThat(vh.getRoutesList()).extracting(Route::getName)
        .containsExactly("VirtualService/both/at-gateway", "VirtualService/both/both-2"));
    List<String> inMesh = new MeshTranslator(15001, false).translate(state, List.of()).routes().getFirst()
        .getVirtualHostsList().stream().filter(vh -> vh.getName().equals("product-service"))
        .flatMap(vh -> vh.getRoutesList().stream()).map(Route::getName).toList();
    assertThat(inMesh).containsExactly("VirtualService/both/in-mesh", "VirtualService/both/both-2");
  }

  private static final String TWO_PORTS = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec: { ports: [ { name: http, port: 80 }, { name: http-admin, port: 8080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-v1 }
      spec: { service: product-service, address: 127.0.0.1, port: 9001, labels: { version: v1 } }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-v2 }
      spec: { service: product-service, address: 127.0.0.1, port: 9002, labels: { version: v2 } }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product }
      spec:
        hosts: [ product-service ]
        http:
        - name: admin
          match: [ { port: 8080 } ]
          route: [ { destination: { host: product-service, subset: v2, port: { number: 8080 } } } ]
        - name: rest
          route: [ { destination: { host: product-service, subset: v1 } } ]
      """ + DR;

  @Test
  void aMatchsPortAppliesOnlyToTheRoutesOfThatPort() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml", TWO_PORTS).policies());
    // The shared outbound listener: a virtual host per port (the name alone goes to the first port).
    RouteConfiguration outbound = new MeshTranslator(15001, false).translate(state, List.of()).routes().getFirst();
    Map<String, List<String>> byHost = new java.util.TreeMap<>();
    outbound.getVirtualHostsList().stream().filter(vh -> vh.getName().startsWith("product-service"))
        .forEach(vh -> byHost.put(vh.getName() + " " + vh.getDomainsList(),
            vh.getRoutesList().stream().map(Route::getName).toList()));
    assertThat(byHost).containsExactly(
        Map.entry("product-service [product-service, product-service:80, product-service.default,"
            + " product-service.default:80, product-service.default.svc, product-service.default.svc:80,"
            + " product-service.default.svc.cluster.local, product-service.default.svc.cluster.local:80]",
            List.of("VirtualService/product/rest")),
        Map.entry("product-service:8080 [product-service:8080, product-service.default:8080,"
            + " product-service.default.svc:8080, product-service.default.svc.cluster.local:8080]",
            List.of("VirtualService/product/admin", "VirtualService/product/rest")));
    // A captured sidecar: the route configuration of each port.
    MeshResources captured = new MeshTranslator(15001, false, true).translate(state, List.of());
    assertThat(portRoutes(captured, "80")).containsExactly("VirtualService/product/rest");
    assertThat(portRoutes(captured, "8080")).containsExactly("VirtualService/product/admin", "VirtualService/product/rest");
    Mesh.dataPlane(captured);
    assertThatThrownBy(() -> PolicyParser.parse("vs.yaml", TWO_PORTS.replace("port: 8080 }", "port: 0 }")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("spec.http[0].match[0].port");
  }

  /** A service of one HTTP port: a match naming another port is left out of the shared outbound listener too. */
  @Test
  void aMatchOfAnotherPortIsLeftOutForASinglePortService() throws Exception {
    String onePort = TWO_PORTS.replace("{ name: http, port: 80 }, { name: http-admin, port: 8080 }",
        "{ name: http, port: 80 }").replace("subset: v2, port: { number: 8080 }", "subset: v2");
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml", onePort).policies());
    MeshResources shared = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(shared.routes().getFirst().getVirtualHostsList().stream()
        .filter(vh -> vh.getName().equals("product-service")).flatMap(vh -> vh.getRoutesList().stream())
        .map(Route::getName)).containsExactly("VirtualService/product/rest");
    PolicySet samePort = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml", onePort.replace("port: 8080 }",
        "port: 80 }")).policies());
    assertThat(new MeshTranslator(15001, false).translate(samePort, List.of()).routes().getFirst()
        .getVirtualHostsList().stream().filter(vh -> vh.getName().equals("product-service"))
        .flatMap(vh -> vh.getRoutesList().stream()).map(Route::getName))
        .as("a match of the service's port applies").containsExactly("VirtualService/product/admin",
            "VirtualService/product/rest");
    Mesh.dataPlane(shared);
  }

  private static List<String> portRoutes(MeshResources r, String name) {
    return r.routes().stream().filter(rc -> rc.getName().equals(name)).flatMap(rc -> rc.getVirtualHostsList().stream())
        .filter(vh -> vh.getName().startsWith("product-service")).flatMap(vh -> vh.getRoutesList().stream())
        .map(Route::getName).toList();
  }

  @Test
  void aMatchsPortAppliesOnlyOnThatGatewayServerPort() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml", GatewayTranslationTest.MESH.replace("""
        metadata: { name: both }
        spec:
          hosts: [ product-service, api.apps.example.com ]
          gateways: [ mesh, istio-system/ingress ]
          http:
        """, """
        metadata: { name: both }
        spec:
          hosts: [ product-service, api.apps.example.com ]
          gateways: [ mesh, istio-system/ingress ]
          http:
          - name: on-8443
            match: [ { port: 8443 } ]
            route: [ { destination: { host: product-service, subset: v1 } } ]
        """)).policies());
    MeshResources gw = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    Map<String, List<String>> byConfig = new java.util.TreeMap<>();
    for (RouteConfiguration rc : gw.routes()) {
      rc.getVirtualHostsList().stream().filter(vh -> vh.getDomainsList().contains("api.apps.example.com"))
          .forEach(vh -> byConfig.put(rc.getName(), vh.getRoutesList().stream().map(Route::getName).toList()));
    }
    assertThat(byConfig).hasSize(2).allSatisfy((name, routes) -> assertThat(routes).as(name)
        .isEqualTo(name.contains("8443") ? List.of("VirtualService/both/on-8443", "VirtualService/both/both-1")
            : List.of("VirtualService/both/both-1")));
  }

  @Test
  void aTcpMatchsGatewaysChooseTheRuleAGatewaysTcpServerRelaysTo() throws Exception {
    String yaml = Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: edge }
        spec:
          selector: { istio: ingressgateway }
          servers: [ { port: { number: 5432, name: tcp, protocol: TCP }, hosts: [ "*" ] } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: streams }
        spec:
          hosts: [ "*.example.com" ]
          gateways: [ edge ]
          tcp:
          - match: [ { port: 5432, gateways: [ GATEWAY ] } ]
            route: [ { destination: { host: product-service } } ]
          - route: [ { destination: { host: db } } ]
        """;
    for (var c : Map.of("edge", "product-service", "other", "db").entrySet()) {
      PolicySet state = GatewayTranslationTest.store(yaml.replace("GATEWAY", c.getKey())).current();
      var tcp = GatewayTranslationTest.listener(GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway")),
          "0.0.0.0_5432").getFilterChains(0).getFilters(0).getTypedConfig()
          .unpack(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class);
      assertThat(tcp.getCluster()).as("gateways: [ " + c.getKey() + " ]").isEqualTo(c.getValue());
    }
  }

  @Test
  void badSourceAndGatewayConditionsAreRefusedByField() {
    assertRefused("match: [ { sourceLabels: { \"bad key!\": x } } ]", "spec.http[0].match[0].sourceLabels",
        "'bad key!' is not a label name");
    assertRefused("match: [ { sourceLabels: { app: { a: b } } } ]", "spec.http[0].match[0].sourceLabels.app",
        "expected a string");
    assertRefused("match: [ { sourceNamespace: Shop_1 } ]", "spec.http[0].match[0].sourceNamespace",
        "'Shop_1' is not a namespace name");
    assertRefused("match: [ { gateways: [ \"bad gw!\" ] } ]", "spec.http[0].match[0].gateways",
        "is not a gateway name");
    assertRefused("match: [ { gateways: [] } ]", "spec.http[0].match[0].gateways", "is empty");
  }

  private static void assertRefused(String match, String field, String reason) {
    String yaml = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product }
        spec:
          hosts: [ product-service ]
          http:
          - %s
            route: [ { destination: { host: product-service } } ]
        """.formatted(match);
    assertThatThrownBy(() -> PolicyParser.parse("vs.yaml", yaml)).isInstanceOf(PolicyException.class)
        .hasMessageContaining(field).hasMessageContaining(reason);
  }

  private static RouteConfiguration outbound(XdsServer xds, String node) {
    return xds.resourcesFor(node).routes().stream().filter(r -> r.getName().equals(MeshTranslator.OUTBOUND))
        .findFirst().orElseThrow();
  }

  private static List<String> routeNames(XdsServer xds, String node) {
    return outbound(xds, node).getVirtualHostsList().stream().filter(vh -> vh.getName().equals("product-service"))
        .flatMap(vh -> vh.getRoutesList().stream()).map(Route::getName).toList();
  }

  private static Route route(XdsServer xds, String node, String name) {
    return outbound(xds, node).getVirtualHostsList().stream().map(VirtualHost::getRoutesList).flatMap(List::stream)
        .filter(r -> r.getName().equals(name)).findFirst().orElseThrow();
  }

  private static Node node(String id, Map<String, String> labels, String spiffeId) {
    Struct.Builder md = Struct.newBuilder()
        .putFields(NodeRegistration.SERVICE, str("frontend"))
        .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(15006).build())
        .putFields(NodeRegistration.ADDRESS, str("127.0.0.9"))
        .putFields(NodeRegistration.LABELS, labels(labels));
    if (spiffeId != null) {
      md.putFields(NodeRegistration.SPIFFE_ID, str(spiffeId));
    }
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }

  private static Value labels(Map<String, String> labels) {
    Struct.Builder s = Struct.newBuilder();
    labels.forEach((k, v) -> s.putFields(k, str(v)));
    return Value.newBuilder().setStructValue(s).build();
  }

  static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  /** A data-plane xDS client of {@code node} to {@code xds}'s plaintext port. */
  static XdsClient client(XdsServer xds, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { });
  }
}
