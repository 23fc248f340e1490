package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's Sidecar resource in translation, against a real xDS server and data-plane xDS clients: which Sidecar scopes
 * a proxy (selector, then namespace, then root namespace), that a scoped proxy's clusters, endpoints, virtual hosts
 * and captured port listeners hold only the hosts its egress admits, the host forms, one translation per scope shared
 * by its proxies, and a Sidecar's outbound traffic policy replacing the mesh's for its captured sidecars.
 */
class SidecarScopeTranslationTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: svc-a }
      spec: { ports: [ { name: http, port: 8080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: svc-b }
      spec: { ports: [ { name: http, port: 9090 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: a-1 }
      spec: { service: svc-a, address: 127.0.0.1, port: 18080 }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: b-1 }
      spec: { service: svc-b, address: 127.0.0.1, port: 19090 }
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [ api.example.test, other.example.org ]
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        endpoints: [ { address: 127.0.0.1 } ]
      """;

  private static String sidecar(String name, String namespace, String selector, String hosts, String mode) {
    return """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: %s, namespace: %s }
        spec:
          %s
          egress: [ { hosts: %s } ]
          %s
        """.formatted(name, namespace, selector == null ? "" : "workloadSelector: { labels: { " + selector + " } }",
        hosts, mode == null ? "" : "outboundTrafficPolicy: { mode: " + mode + " }");
  }

  @Test
  void aSelectorsSidecarWinsOverTheNamespacesWhichWinsOverTheRootNamespaces() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient scoped = client(xds, node("scoped-1", Map.of("app", "scoped"), null));
        XdsClient plain = client(xds, node("plain-1", Map.of("app", "plain"), null));
        XdsClient shop = client(xds, node("shop-1", Map.of("app", "scoped"), "spiffe://cluster.local/ns/shop/sa/shop"))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().size() == 3);
      // No Sidecar: every proxy gets the whole mesh.
      for (String n : List.of("scoped-1", "plain-1", "shop-1")) {
        assertThat(clusters(xds, n)).contains("svc-a", "svc-b", "outbound|80||api.example.test",
            "outbound|80||other.example.org");
      }
      assertThat(xds.status()).allSatisfy(s -> assertThat(s.sidecar()).isNull());

      store.apply(PolicyParser.parse("s.yaml", sidecar("scoped", "default", "app: scoped", "[ ./svc-a ]", null)
          + "---\n" + sidecar("default", "default", null, "[ \"*/*.example.test\" ]", null)
          + "---\n" + sidecar("mesh", "istio-system", null, "[ default/svc-b.default.svc.cluster.local ]", null))
          .policies(), false);
      // The selector's Sidecar: svc-a only (its cluster, endpoints and virtual host).
      assertThat(clusters(xds, "scoped-1")).contains("svc-a").doesNotContain("svc-b", "outbound|80||api.example.test");
      assertThat(assignments(xds, "scoped-1")).contains("svc-a").doesNotContain("svc-b");
      assertThat(hosts(xds, "scoped-1")).containsExactly("svc-a");
      // The namespace's: the ServiceEntry host it admits (the entry's other host is not), no registry service.
      assertThat(clusters(xds, "plain-1")).contains("outbound|80||api.example.test")
          .doesNotContain("svc-a", "svc-b", "outbound|80||other.example.org");
      assertThat(hosts(xds, "plain-1")).containsExactly("api.example.test:80");
      // Namespace shop has no Sidecar of its own, and the selector's is default's: the root namespace's applies.
      assertThat(clusters(xds, "shop-1")).contains("svc-b").doesNotContain("svc-a", "outbound|80||api.example.test");
      assertThat(hosts(xds, "shop-1")).containsExactly("svc-b");
      assertThat(xds.status()).extracting(ProxyStatus::nodeId, ProxyStatus::sidecar).containsExactlyInAnyOrder(
          org.assertj.core.groups.Tuple.tuple("scoped-1", "Sidecar/default/scoped"),
          org.assertj.core.groups.Tuple.tuple("plain-1", "Sidecar/default/default"),
          org.assertj.core.groups.Tuple.tuple("shop-1", "Sidecar/istio-system/mesh"));
      // The proxies' xDS clients were sent the narrowed view (not only what the server would send).
      await().atMost(Duration.ofSeconds(10)).until(() -> clusters(xds, "scoped-1").size() > 0
          && xds.status().stream().filter(s -> s.nodeId().equals("scoped-1")).findFirst().orElseThrow().types()
          .get("clusters").acked().equals(xds.resourcesFor("scoped-1").clustersVersion()));

      // A dry run names the proxies a Sidecar change reaches: only the selector's.
      var before = store.current();
      var after = before.with(PolicyParser.parse("s2.yaml", sidecar("scoped", "default", "app: scoped",
          "[ ./svc-a, ./svc-b ]", null)).policies());
      assertThat(xds.changedFor(before, after)).containsOnlyKeys("scoped-1");

      // Deleting the selector's Sidecar: the namespace's applies to that workload.
      store.delete("Sidecar", "default", "scoped", false);
      assertThat(hosts(xds, "scoped-1")).containsExactly("api.example.test:80");
    }
  }

  @Test
  void hostFormsAdmitByNamespaceWildcardSuffixAndNone() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient c = client(xds, node("client-1", Map.of("app", "c"), null))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("client-1") != null);
      Map<String, List<String>> cases = Map.of(
          "[ \"*/*\" ]", List.of("api.example.test:80", "other.example.org:80", "svc-a", "svc-b"),
          "[ \"./*\" ]", List.of("api.example.test:80", "other.example.org:80", "svc-a", "svc-b"),
          "[ \"other-ns/*\" ]", List.of(),
          "[ \"~/*\" ]", List.of(),
          "[ \"*/*.svc.cluster.local\" ]", List.of("svc-a", "svc-b"),
          "[ \"*/*.org\", default/svc-b.default ]", List.of("other.example.org:80", "svc-b"),
          "[ \"*/SVC-A\" ]", List.of("svc-a"));
      for (var e : cases.entrySet()) {
        store.apply(PolicyParser.parse("s.yaml", sidecar("c", "default", "app: c", e.getKey(), null)).policies(), false);
        assertThat(hosts(xds, "client-1")).as(e.getKey()).containsExactlyInAnyOrderElementsOf(e.getValue());
      }
    }
  }

  @Test
  void proxiesOfOneScopeShareOneTranslationPerChange() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH + "---\n" + sidecar("scoped", "default", "app: scoped",
        "[ ./svc-a ]", null)).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient one = client(xds, node("scoped-1", Map.of("app", "scoped"), null));
        XdsClient two = client(xds, node("scoped-2", Map.of("app", "scoped"), null));
        XdsClient three = client(xds, node("scoped-3", Map.of("app", "scoped"), null))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().size() == 3);
      MeshResources r1 = xds.resourcesFor("scoped-1");
      assertThat(r1.clusters()).as("the same instance: one translation for the scope")
          .isSameAs(xds.resourcesFor("scoped-2").clusters()).isSameAs(xds.resourcesFor("scoped-3").clusters());
      long scoped = xds.scopedTranslations();
      // A change: the three proxies' scope is translated once, not three times.
      store.apply(PolicyParser.parse("w.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: a-2 }
          spec: { service: svc-a, address: 127.0.0.2, port: 18080 }
          """).policies(), false);
      assertThat(xds.scopedTranslations()).isEqualTo(scoped + 1);
      assertThat(xds.resourcesFor("scoped-1").endpoints()).isSameAs(xds.resourcesFor("scoped-3").endpoints());
    }
  }

  @Test
  void aCapturedSidecarGetsOnlyItsScopesPortListenersAndItsSidecarsOutboundTrafficPolicy() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001, OutboundTrafficPolicy.ALLOW_ANY).start("127.0.0.1", 0);
        XdsClient c = client(xds, capturedNode("cap-1", Map.of("app", "cap")))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("cap-1") != null);
      assertThat(listeners(xds, "cap-1")).contains("0.0.0.0_8080", "0.0.0.0_9090", "0.0.0.0_80");
      assertThat(passthroughCluster(xds, "cap-1")).isEqualTo(CapturedListeners.PASSTHROUGH);

      store.apply(PolicyParser.parse("s.yaml", sidecar("cap", "default", "app: cap", "[ ./svc-a ]", "REGISTRY_ONLY"))
          .policies(), false);
      assertThat(listeners(xds, "cap-1")).contains("virtualOutbound", "virtualInbound", "0.0.0.0_8080")
          .doesNotContain("0.0.0.0_9090", "0.0.0.0_80");
      assertThat(clusters(xds, "cap-1")).contains("svc-a", OutboundTrafficPolicy.BLACK_HOLE).doesNotContain("svc-b");
      // REGISTRY_ONLY from the Sidecar, the mesh's being ALLOW_ANY: unknown destinations go to the black hole.
      assertThat(passthroughCluster(xds, "cap-1")).isEqualTo(OutboundTrafficPolicy.BLACK_HOLE);
      RouteConfiguration port8080 = xds.resourcesFor("cap-1").routes().stream()
          .filter(r -> r.getName().equals("8080")).findFirst().orElseThrow();
      assertThat(port8080.getVirtualHostsList()).extracting(VirtualHost::getName)
          .containsExactly("svc-a", OutboundTrafficPolicy.BLOCK_ALL);
      // The DNS proxy's table: only names the scope admits.
      assertThat(listener(xds, "cap-1", "virtualOutbound").getMetadata().getFilterMetadataOrThrow(MeshNames.METADATA_KEY)
          .getFieldsOrThrow("table").getStructValue().getFieldsMap()).containsKey("svc-a").doesNotContainKey("svc-b");
    }
  }

  @Test
  void anEgressPortAdmitsItsHostsOnThatPortOnly() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("ports: [ { name: http, port: 8080 } ]",
        "ports: [ { name: http, port: 8080 }, { name: admin, port: 8081 } ]") + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: multi }
        spec:
          hosts: [ m1.example.test, m2.example.test ]
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP }, { number: 8443, name: alt, protocol: HTTP } ]
          endpoints: [ { address: 127.0.0.1 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: cap, namespace: default }
        spec:
          workloadSelector: { labels: { app: cap } }
          egress:
          - port: { number: 8081, protocol: HTTP, name: admin }
            hosts: [ ./svc-a, ./api.example.test ]
          - port: { number: 80, protocol: HTTP, name: http }
            hosts: [ ./other.example.org, ./m1.example.test ]
          - hosts: [ ./svc-b, ./m2.example.test ]
        """).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient c = client(xds, capturedNode("cap-1", Map.of("app", "cap")))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor("cap-1") != null);
      // svc-a on 8081 only, svc-b (no port) on its own port; api.example.test has no port 8081: not admitted at all.
      assertThat(listeners(xds, "cap-1")).contains("0.0.0.0_8081", "0.0.0.0_9090", "0.0.0.0_80")
          .doesNotContain("0.0.0.0_8080");
      assertThat(clusters(xds, "cap-1")).contains("svc-a", "svc-b", "outbound|80||other.example.org")
          .doesNotContain("outbound|80||api.example.test");
      // One entry's hosts on different ports: m1 on 80 only, m2 on both.
      assertThat(clusters(xds, "cap-1")).contains("outbound|80||m1.example.test", "outbound|80||m2.example.test",
          "outbound|8443||m2.example.test").doesNotContain("outbound|8443||m1.example.test");
      RouteConfiguration port80 = xds.resourcesFor("cap-1").routes().stream()
          .filter(r -> r.getName().equals("80")).findFirst().orElseThrow();
      assertThat(port80.getVirtualHostsList()).extracting(VirtualHost::getName)
          .containsExactlyInAnyOrder("m1.example.test:80", "m2.example.test:80", "other.example.org:80",
              CapturedListeners.ALLOW_ANY);
    }
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

  private static Node capturedNode(String id, Map<String, String> labels) {
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.SERVICE, str("frontend"))
            .putFields(NodeRegistration.ADDRESS, str("10.1.0.7"))
            .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(7000).build())
            .putFields(NodeRegistration.APP_PORT, Value.newBuilder().setNumberValue(7000).build())
            .putFields(NodeRegistration.CAPTURE, str("iptables"))
            .putFields(NodeRegistration.INBOUND_PORT, Value.newBuilder().setNumberValue(15006).build())
            .putFields(NodeRegistration.LABELS, labels(labels)))
        .build();
  }

  private static Value labels(Map<String, String> labels) {
    Struct.Builder l = Struct.newBuilder();
    labels.forEach((k, v) -> l.putFields(k, str(v)));
    return Value.newBuilder().setStructValue(l).build();
  }

  private static XdsClient client(XdsServer xds, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { });
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static List<String> clusters(XdsServer xds, String node) {
    return xds.resourcesFor(node).clusters().stream().map(Cluster::getName).toList();
  }

  private static List<String> assignments(XdsServer xds, String node) {
    return xds.resourcesFor(node).endpoints().stream().map(ClusterLoadAssignment::getClusterName).toList();
  }

  private static List<String> listeners(XdsServer xds, String node) {
    return xds.resourcesFor(node).listeners().stream().map(Listener::getName).toList();
  }

  private static Listener listener(XdsServer xds, String node, String name) {
    return xds.resourcesFor(node).listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
  }

  /** The virtual hosts of route configuration outbound (a ServiceEntry's are {@code host:port}), without block_all. */
  private static List<String> hosts(XdsServer xds, String node) {
    return xds.resourcesFor(node).routes().stream().filter(r -> r.getName().equals(MeshTranslator.OUTBOUND))
        .flatMap(r -> r.getVirtualHostsList().stream()).map(VirtualHost::getName)
        .filter(n -> !n.equals(OutboundTrafficPolicy.BLOCK_ALL)).sorted().toList();
  }

  /** Where virtualOutbound's passthrough chain sends what no listener claims. */
  private static String passthroughCluster(XdsServer xds, String node) throws Exception {
    Listener vo = listener(xds, node, CapturedListeners.VIRTUAL_OUTBOUND);
    var chain = vo.getFilterChainsList().stream().filter(c -> c.getName().equals(CapturedListeners.PASSTHROUGH_CHAIN))
        .findFirst().orElseThrow();
    return chain.getFiltersList().getLast().getTypedConfig().unpack(TcpProxy.class).getCluster();
  }

  @Test
  void ingressEntriesASelectedSidecarIgnoresAreWarnedAboutInItsStatus() throws Exception {
    var sc = (io.keelson.control.policy.Policy.Sidecar) PolicyParser.parse("i.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: legacy, namespace: shop }
        spec:
          ingress:
          - { port: { number: 9080, protocol: HTTP, name: http }, defaultEndpoint: "127.0.0.1:8080" }
          - { port: { number: 7070, protocol: TCP, name: tcp }, defaultEndpoint: "0.0.0.0:7071" }
          egress: [ { hosts: [ "*/*" ] } ]
        """).policies().getFirst();
    // Captured with app port 9080: the 7070 entry has no inbound app cluster to change.
    assertThat(SidecarScopes.ignoredIngress(sc, new NodeRegistration.Capture("10.0.0.5", 9080, 15006, 15001)))
        .containsExactly("Sidecar/shop/legacy ingress port 7070 is ignored: this sidecar's captured app port is 9080;"
            + " expected ingress port 9080, or the entry removed");
    // A plain (not captured) sidecar applies none of them.
    assertThat(SidecarScopes.ignoredIngress(sc, null)).hasSize(2).allSatisfy(w -> assertThat(w)
        .contains("is ignored: this sidecar is not captured"));
    assertThat(SidecarScopes.ignoredIngress(null, null)).isEmpty();
  }
}
