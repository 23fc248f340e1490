package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.api.MeshConfigFile;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Istio's {@code exportTo} per client namespace, through a real xDS server and data-plane xDS clients of captured
 * sidecars in three namespaces: a Service exported to {@code .} has no cluster, virtual host domain or name table entry
 * for another namespace's sidecar; a VirtualService exported to {@code .} and a DestinationRule exported to one other
 * namespace apply only where exported; meshConfig defaults; ServiceEntries of one host in two namespaces; sidecars of
 * one namespace share one translation; malformed values refused by field.
 */
class ExportToTranslationTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata:
        name: ratings
        namespace: shop
        annotations: { networking.istio.io/exportTo: "." }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: shop }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: ratings-1, namespace: shop }
      spec: { service: ratings, address: 10.9.0.11, port: 9080 }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-1, namespace: shop }
      spec: { service: reviews, address: 10.9.0.12, port: 9080 }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews, namespace: shop }
      spec:
        hosts: [ reviews ]
        exportTo: [ "." ]
        http: [ { timeout: 3s, route: [ { destination: { host: reviews } } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews, namespace: shop }
      spec:
        host: reviews
        exportTo: [ bookinfo ]
        trafficPolicy: { loadBalancer: { simple: RANDOM } }
      """;

  @Test
  void whatIsNotExportedToASidecarsNamespaceIsNotInItsClustersRoutesOrNameTable() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient shop = client(xds, capturedNode("shop-1", "shop", "10.1.0.1"));
        XdsClient web1 = client(xds, capturedNode("web-1", "web", "10.1.0.2"));
        XdsClient web2 = client(xds, capturedNode("web-2", "web", "10.1.0.3"));
        XdsClient bookinfo = client(xds, capturedNode("bookinfo-1", "bookinfo", "10.1.0.4"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> List.of("shop-1", "web-1", "web-2", "bookinfo-1").stream()
          .allMatch(n -> xds.resourcesFor(n) != null));
      // A Service exported to '.': its own namespace's sidecar has it (and its short name), another's has nothing of it.
      assertThat(clusters(xds, "shop-1")).contains("ratings.shop", "reviews.shop");
      assertThat(domains(xds, "shop-1")).contains("ratings.shop", "ratings");
      assertThat(table(xds, "shop-1")).contains("ratings", "ratings.shop", "ratings.shop.svc.cluster.local");
      assertThat(clusters(xds, "web-1")).contains("reviews.shop").doesNotContain("ratings.shop");
      assertThat(domains(xds, "web-1")).contains("reviews.shop").noneMatch(d -> d.startsWith("ratings"));
      assertThat(table(xds, "web-1")).contains("reviews.shop").noneMatch(n -> n.startsWith("ratings"));
      assertThat(endpointsOf(xds, "web-1")).doesNotContain("ratings.shop");
      // A VirtualService exported to '.': its timeout on shop's sidecar only.
      assertThat(timeoutSeconds(xds, "shop-1")).isEqualTo(3);
      assertThat(timeoutSeconds(xds, "web-1")).isNotEqualTo(3);
      assertThat(timeoutSeconds(xds, "bookinfo-1")).isNotEqualTo(3);
      // A DestinationRule exported to bookinfo: its load balancer there only (not even in its own namespace).
      assertThat(cluster(xds, "bookinfo-1", "reviews.shop").getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
      assertThat(cluster(xds, "web-1", "reviews.shop").getLbPolicy()).isNotEqualTo(Cluster.LbPolicy.RANDOM);
      assertThat(cluster(xds, "shop-1", "reviews.shop").getLbPolicy()).isNotEqualTo(Cluster.LbPolicy.RANDOM);
      // One shared translation per namespace's view, not per sidecar: web-1 and web-2 share theirs.
      assertThat(xds.sourceTranslations()).isEqualTo(3);
      // What the sidecars were sent is what they run.
      Mesh.dataPlane(xds.resourcesFor("web-1"));
    }
  }

  @Test
  void aPushComputesEachNamespaceAndLabelsSignatureOnceNotOncePerSidecar() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    List<String> webs = List.of("web-1", "web-2", "web-3", "web-4", "web-5", "web-6");
    List<XdsClient> clients = new java.util.ArrayList<>();
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0)) {
      clients.add(client(xds, capturedNode("shop-1", "shop", "10.1.0.1")));
      for (int i = 0; i < webs.size(); i++) {
        clients.add(client(xds, capturedNode(webs.get(i), "web", "10.1.1." + (i + 1))));
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> xds.registeredWorkloads().size() == 7
          && webs.stream().allMatch(n -> xds.resourcesFor(n) != null) && xds.resourcesFor("shop-1") != null);
      // A change: every proxy is pushed (its translation, its locality view, its name table each ask its signature).
      store.apply(PolicyParser.parse("more.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: extra, namespace: shop }
          spec: { ports: [ { name: http, port: 80 } ] }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> webs.stream().allMatch(n -> clusters(xds, n)
          .contains("extra.shop")) && clusters(xds, "shop-1").contains("extra.shop"));
      // The six web sidecars share one workload (namespace web, same labels): one signature for them, one for shop's.
      assertThat(xds.signaturesComputed()).isLessThanOrEqualTo(2);
      for (String n : webs) {
        assertThat(xds.resourcesFor(n).clusters()).as(n).isEqualTo(xds.resourcesFor("web-1").clusters());
        assertThat(xds.resourcesFor(n).routes()).as(n).isEqualTo(xds.resourcesFor("web-1").routes());
        assertThat(xds.resourcesFor(n).endpoints()).as(n).isEqualTo(xds.resourcesFor("web-1").endpoints());
      }
      assertThat(clusters(xds, "web-1")).doesNotContain("ratings.shop");
      assertThat(clusters(xds, "shop-1")).contains("ratings.shop");
    } finally {
      clients.forEach(XdsClient::close);
    }
  }

  @Test
  void aRouteToAServiceNotExportedToTheSidecarsNamespaceGoesToAnEmptyCluster() throws Exception {
    PolicyStore store = new PolicyStore();
    // reviews' routes, exported everywhere, send /ratings to ratings, which only shop sees: elsewhere a 503 (no cluster).
    store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("exportTo: [ \".\" ]\n  http: [ { timeout: 3s,",
        "http: [ { match: [ { uri: { prefix: /ratings } } ], route: [ { destination: { host: ratings } } ] },"
        + " { timeout: 3s,")).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient web = client(xds, capturedNode("web-1", "web", "10.1.0.2"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("web-1") != null);
      VirtualHost vh = xds.resourcesFor("web-1").routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
          .filter(h -> h.getDomainsList().contains("reviews.shop")).findFirst().orElseThrow();
      assertThat(vh.getRoutes(0).getRoute().getCluster()).isEqualTo("ratings.shop");
      // Defined empty (503 no healthy upstream), where the data plane would refuse an undefined cluster.
      assertThat(xds.resourcesFor("web-1").endpoints().stream().filter(a -> a.getClusterName().equals("ratings.shop"))
          .findFirst().orElseThrow().getEndpointsList()).isEmpty();
      assertThat(domains(xds, "web-1")).noneMatch(d -> d.startsWith("ratings"));
      Mesh.dataPlane(xds.resourcesFor("web-1"));
    }
  }

  @Test
  void withoutExportToEverySidecarSharesTheMeshTranslation() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("annotations: { networking.istio.io/exportTo: \".\" }",
        "annotations: {}").replace("exportTo: [ \".\" ]", "exportTo: [ \"*\" ]").replace("exportTo: [ bookinfo ]", ""))
        .policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient shop = client(xds, capturedNode("shop-1", "shop", "10.1.0.1"));
        XdsClient web = client(xds, capturedNode("web-1", "web", "10.1.0.2"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("shop-1") != null
          && xds.resourcesFor("web-1") != null);
      assertThat(clusters(xds, "web-1")).contains("ratings.shop", "reviews.shop");
      assertThat(timeoutSeconds(xds, "web-1")).isEqualTo(3);
      assertThat(xds.sourceTranslations()).as("no view per namespace").isZero();
    }
  }

  @Test
  void meshDefaultsApplyToDocumentsWithoutExportTo() throws Exception {
    MeshConfigFile mesh = MeshConfigFile.parse("mesh-config.yaml", """
        defaultServiceExportTo: [ "." ]
        defaultVirtualServiceExportTo: [ "." ]
        defaultDestinationRuleExportTo: [ "." ]
        """);
    PolicyStore store = new PolicyStore();
    // Without its own exportTo each document takes its kind's default: ratings (".") and reviews (now none) alike.
    store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("annotations: { networking.istio.io/exportTo: \".\" }",
        "annotations: {}").replace("exportTo: [ \".\" ]", "").replace("exportTo: [ bookinfo ]", "")).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient shop = client(xds, capturedNode("shop-1", "shop", "10.1.0.1"));
        XdsClient web = client(xds, capturedNode("web-1", "web", "10.1.0.2"))) {
      xds.setExportToDefaults(mesh.exportTo());
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("shop-1") != null
          && xds.resourcesFor("web-1") != null);
      assertThat(clusters(xds, "web-1")).doesNotContain("ratings.shop", "reviews.shop");
      assertThat(clusters(xds, "shop-1")).contains("ratings.shop", "reviews.shop");
      assertThat(timeoutSeconds(xds, "shop-1")).isEqualTo(3);
      assertThat(cluster(xds, "shop-1", "reviews.shop").getLbPolicy()).isEqualTo(Cluster.LbPolicy.RANDOM);
    }
    assertThatThrownBy(() -> MeshConfigFile.parse("mesh-config.yaml", "defaultVirtualServiceExportTo: [ \"~\" ]"))
        .hasMessageContaining("defaultVirtualServiceExportTo").hasMessageContaining("'~'");
    for (String field : List.of("defaultServiceExportTo", "defaultVirtualServiceExportTo",
        "defaultDestinationRuleExportTo")) {
      assertThatThrownBy(() -> MeshConfigFile.parse("mesh-config.yaml", field + ": [ \".\", bookinfo ]"))
          .hasMessageContaining(field).hasMessageContaining("entry 1 'bookinfo' is a namespace name");
    }
  }

  private static final String EDGE = """
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: edge, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers: [ { port: { number: 8080, name: http, protocol: HTTP }, hosts: [ "*" ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: edge-ratings, namespace: shop }
      spec:
        hosts: [ ratings.example.com ]
        gateways: [ istio-system/edge ]
        exportTo: [ "." ]
        http: [ { route: [ { destination: { host: ratings } } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: edge-public-ratings, namespace: shop }
      spec:
        hosts: [ public-ratings.example.com ]
        gateways: [ istio-system/edge ]
        http: [ { route: [ { destination: { host: ratings } } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: edge-reviews, namespace: shop }
      spec:
        hosts: [ reviews.example.com ]
        gateways: [ istio-system/edge ]
        http: [ { route: [ { destination: { host: reviews } } ] } ]
      """;

  @Test
  void aGatewaySeesWhatItsNamespaceSees() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH + EDGE).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient edge = client(xds, gatewayNode("edge-1", "istio-system"));
        XdsClient shopEdge = client(xds, gatewayNode("shop-edge-1", "shop"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("edge-1") != null
          && xds.resourcesFor("shop-edge-1") != null);
      // istio-system's gateway: neither the VirtualService nor the Service exported to shop only.
      assertThat(domains(xds, "edge-1")).contains("reviews.example.com").doesNotContain("ratings.example.com");
      assertThat(endpointsOf(xds, "edge-1")).contains("reviews.shop");
      // A VirtualService it sees routing to a Service it does not: an empty cluster, and the data plane takes it.
      assertThat(xds.resourcesFor("edge-1").endpoints().stream().filter(a -> a.getClusterName().equals("ratings.shop"))
          .flatMap(a -> a.getEndpointsList().stream()).toList()).isEmpty();
      Mesh.dataPlane(xds.resourcesFor("edge-1"));
      // A gateway of namespace shop sees both.
      assertThat(domains(xds, "shop-edge-1")).contains("reviews.example.com", "ratings.example.com");
      assertThat(clusters(xds, "shop-edge-1")).contains("reviews.shop", "ratings.shop");
    }
  }

  private static Node gatewayNode(String id, String namespace) {
    return Node.newBuilder().setId(id).setCluster(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
            .putFields(NodeRegistration.NAMESPACE, str(namespace))
            .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder()
                .putFields("istio", str("ingressgateway"))).build()))
        .build();
  }

  private static final String ENTRIES = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api, namespace: shop }
      spec:
        hosts: [ api.example.com ]
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        resolution: STATIC
        endpoints: [ { address: 10.7.0.1 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api, namespace: web }
      spec:
        hosts: [ api.example.com ]
        exportTo: [ "." ]
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        resolution: STATIC
        endpoints: [ { address: 10.7.0.2 } ]
      """;

  @Test
  void aServiceEntryHostOfTwoNamespacesIsEachNamespacesOwnEntry() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("entries.yaml", ENTRIES).policies(), false);
    assertThat(store.current().byKey()).containsKeys("ServiceEntry/shop/api", "ServiceEntry/web/api");
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient shop = client(xds, capturedNode("shop-1", "shop", "10.1.0.1"));
        XdsClient web = client(xds, capturedNode("web-1", "web", "10.1.0.2"));
        XdsClient bookinfo = client(xds, capturedNode("bookinfo-1", "bookinfo", "10.1.0.4"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> List.of("shop-1", "web-1", "bookinfo-1").stream()
          .allMatch(n -> xds.resourcesFor(n) != null));
      String cluster = "outbound|80||api.example.com";
      assertThat(endpointAddress(xds, "shop-1", cluster)).isEqualTo("10.7.0.1");
      assertThat(endpointAddress(xds, "web-1", cluster)).as("its own namespace's entry").isEqualTo("10.7.0.2");
      assertThat(endpointAddress(xds, "bookinfo-1", cluster)).as("web's is exported to '.' only")
          .isEqualTo("10.7.0.1");
    }
    // One namespace still declares a host once.
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("dup.yaml", ENTRIES.substring(0,
        ENTRIES.indexOf("---")).replace("name: api,", "name: api2,")).policies(), false))
        .isInstanceOf(PolicyException.class).hasMessageContaining("spec.hosts[0]")
        .hasMessageContaining("already declared by ServiceEntry/shop/api");
  }

  @Test
  void malformedExportToIsRefusedNamingTheField() {
    assertRefused("""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api, namespace: shop }
        spec:
          hosts: [ api.example.com ]
          exportTo: [ "~", web ]
          ports: [ { number: 80, name: http, protocol: HTTP } ]
        """, "spec.exportTo", "mixes '~'");
    assertRefused("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews, namespace: shop }
        spec:
          hosts: [ reviews ]
          exportTo: [ "~" ]
          http: [ { route: [ { destination: { host: reviews } } ] } ]
        """, "spec.exportTo", "for Services and ServiceEntries only");
    assertRefused("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews, namespace: shop }
        spec: { host: reviews, exportTo: [ Web_1 ] }
        """, "spec.exportTo", "'Web_1' is not a namespace name");
    assertRefused("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews, namespace: shop }
        spec: { host: reviews, exportTo: [ ".", shop ] }
        """, "spec.exportTo", "repeats the document's own namespace shop");
    assertRefused("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata:
          name: ratings
          namespace: shop
          annotations: { networking.istio.io/exportTo: "*, web" }
        spec: { ports: [ { name: http, port: 9080 } ] }
        """, "metadata.annotations.networking.istio.io/exportTo", "mixes '*'");
  }

  private static void assertRefused(String yaml, String field, String reason) {
    assertThatThrownBy(() -> PolicyParser.parse("doc.yaml", yaml)).isInstanceOf(PolicyException.class)
        .hasMessageContaining(field).hasMessageContaining(reason);
  }

  private static List<String> clusters(XdsServer xds, String node) {
    return xds.resourcesFor(node).clusters().stream().map(Cluster::getName).toList();
  }

  private static Cluster cluster(XdsServer xds, String node, String name) {
    return xds.resourcesFor(node).clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  private static Set<String> endpointsOf(XdsServer xds, String node) {
    return xds.resourcesFor(node).endpoints().stream().map(ClusterLoadAssignment::getClusterName)
        .collect(Collectors.toSet());
  }

  private static String endpointAddress(XdsServer xds, String node, String cluster) {
    return xds.resourcesFor(node).endpoints().stream().filter(a -> a.getClusterName().equals(cluster)).findFirst()
        .orElseThrow().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress().getAddress();
  }

  /** Every virtual host domain of every route configuration the node has, ports cut off. */
  private static Set<String> domains(XdsServer xds, String node) {
    return xds.resourcesFor(node).routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .flatMap(vh -> vh.getDomainsList().stream()).map(d -> d.replaceFirst(":\\d+$", ""))
        .collect(Collectors.toSet());
  }

  /** The names in a captured sidecar's DNS name table. */
  private static Set<String> table(XdsServer xds, String node) {
    Struct meta = xds.resourcesFor(node).listeners().stream()
        .filter(l -> l.getMetadata().getFilterMetadataMap().containsKey(MeshNames.METADATA_KEY)).findFirst()
        .orElseThrow().getMetadata().getFilterMetadataOrThrow(MeshNames.METADATA_KEY);
    return meta.getFieldsOrThrow("table").getStructValue().getFieldsMap().keySet();
  }

  /** The route timeout (seconds) of reviews.shop's virtual host on port 9080, as the node has it. */
  private static long timeoutSeconds(XdsServer xds, String node) {
    VirtualHost vh = xds.resourcesFor(node).routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .filter(h -> h.getDomainsList().contains("reviews.shop")).findFirst().orElseThrow();
    Route r = vh.getRoutes(0);
    return r.getRoute().getTimeout().getSeconds();
  }

  private static Node capturedNode(String id, String namespace, String address) {
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.SERVICE, str("frontend"))
            .putFields(NodeRegistration.ADDRESS, str(address))
            .putFields(NodeRegistration.PORT, num(8080))
            .putFields(NodeRegistration.APP_PORT, num(8080))
            .putFields(NodeRegistration.CAPTURE, str("iptables"))
            .putFields(NodeRegistration.INBOUND_PORT, num(15006))
            .putFields(NodeRegistration.NAMESPACE, str(namespace)))
        .build();
  }

  private static XdsClient client(XdsServer xds, Node node) {
    return DetectedProtocolTranslationTest.client(xds, node);
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value num(int n) {
    return Value.newBuilder().setNumberValue(n).build();
  }
}
