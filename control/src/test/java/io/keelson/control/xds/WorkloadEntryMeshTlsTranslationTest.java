package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.config.ClusterConfig;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * VMs in the mesh, as istiod translates them: WorkloadEntries (and inline endpoints) labelled
 * {@code security.istio.io/tlsMode: istio} get mesh mTLS by {@code transport_socket_matches} checking their
 * {@code serviceAccount}'s SPIFFE ID, the rest of the entry stays plaintext, a DestinationRule {@code tls} overrides
 * (ISTIO_MUTUAL, SIMPLE, DISABLE); WorkloadEntry localities group the EDS assignment and drive failover priorities.
 */
class WorkloadEntryMeshTlsTranslationTest {
  private static final String ENTRY = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: vm-api, namespace: shop }
      spec:
        hosts: [ api.vm.example ]
        location: MESH_INTERNAL
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        workloadSelector: { labels: { app: api } }
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-1, namespace: shop }
      spec:
        address: 192.0.2.10
        labels: { app: api, security.istio.io/tlsMode: istio }
        serviceAccount: vm-api
        locality: us-west/a
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-2, namespace: shop }
      spec:
        address: 192.0.2.11
        labels: { app: api }
        locality: us-west/b
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-3, namespace: shop }
      spec:
        address: 192.0.2.12
        labels: { app: api, security.istio.io/tlsMode: istio }
        serviceAccount: vm-other
        locality: us-west/a
      """;
  private static final String CLUSTER = "outbound|80||api.vm.example";
  /** A DestinationRule for the entry's host with {@code tls} mode %s. */
  private static final String TLS_RULE = """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: vm-api, namespace: shop }
      spec:
        host: api.vm.example
        trafficPolicy: { tls: { mode: %s } }
      """;
  private static final Map<String, MeshTranslator.Self> CALLER = Map.of("web",
      new MeshTranslator.Self("spiffe://example.org/ns/shop/sa/web", 0, 0, Map.of()));

  private static PolicySet state(String extra) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY + extra).policies(), false);
    return store.current();
  }

  private static MeshResources translate(PolicySet state, boolean withIdentity) {
    return new MeshTranslator(15001, false, false, OutboundTrafficPolicy.ALLOW_ANY, java.time.Duration.ZERO,
        "example.org").translateShared(state, List.of(), withIdentity ? CALLER : Map.of(), withIdentity);
  }

  private static ClusterLoadAssignment assignment(MeshResources r) {
    return r.endpoints().stream().filter(e -> e.getClusterName().equals(CLUSTER)).findFirst().orElseThrow();
  }

  private static List<String> sans(io.envoyproxy.envoy.config.core.v3.TransportSocket socket) throws Exception {
    return socket.getTypedConfig().unpack(UpstreamTlsContext.class).getCommonTlsContext().getCombinedValidationContext()
        .getDefaultValidationContext().getMatchTypedSubjectAltNamesList().stream()
        .map(m -> m.getMatcher().getExact()).toList();
  }

  @Test
  void endpointsLabelledIstioGetMeshMtlsCheckingTheEntrysServiceAccountsAndTheRestPlaintext() throws Exception {
    MeshResources r = translate(state(""), true);
    Cluster c = Mesh.cluster(r, CLUSTER);
    assertThat(c.hasTransportSocket()).isFalse();
    assertThat(c.getTransportSocketMatchesList()).extracting(Cluster.TransportSocketMatch::getName)
        .containsExactly("tlsMode-istio", "tlsMode-disabled");
    assertThat(c.getTransportSocketMatches(0).getMatch().getFieldsOrThrow("tlsMode").getStringValue()).isEqualTo("istio");
    // istiod's SAN list: every service account of the entry's endpoints, in the caller's trust domain.
    assertThat(sans(c.getTransportSocketMatches(0).getTransportSocket()))
        .containsExactly("spiffe://example.org/ns/shop/sa/vm-api", "spiffe://example.org/ns/shop/sa/vm-other");
    assertThat(c.getTransportSocketMatches(0).getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class)
        .getCommonTlsContext().getAlpnProtocolsList()).containsExactly("istio-peer-exchange", "istio");
    assertThat(c.getTransportSocketMatches(1).getMatch().getFieldsCount()).isZero();

    // The data plane runs it: mesh mTLS to vm-1 and vm-3, plaintext to vm-2.
    ClusterConfig dp = Mesh.dataPlaneWithIdentity(r, "shop", "web").clusters().get(CLUSTER);
    Map<String, Boolean> tlsByHost = new TreeMap<>();
    dp.endpoints().forEach(e -> tlsByHost.put(e.host(), dp.tls(e) != null));
    assertThat(tlsByHost).containsExactly(Map.entry("192.0.2.10", true), Map.entry("192.0.2.11", false),
        Map.entry("192.0.2.12", true));
    assertThat(dp.tls(dp.endpoints().getFirst()).config().serverSans().toString()).contains("sa/vm-api");
  }

  @Test
  void aCallerWithoutIdentityStaysPlaintextAndADestinationRuleTlsOverrides() throws Exception {
    assertThat(Mesh.cluster(translate(state(""), false), CLUSTER).getTransportSocketMatchesCount()).isZero();
    assertThat(Mesh.cluster(translate(state(""), false), CLUSTER).hasTransportSocket()).isFalse();

    String dr = TLS_RULE;
    Cluster istio = Mesh.cluster(translate(state(dr.formatted("ISTIO_MUTUAL")), true), CLUSTER);
    assertThat(istio.getTransportSocketMatchesCount()).isZero();
    assertThat(sans(istio.getTransportSocket()))
        .containsExactly("spiffe://example.org/ns/shop/sa/vm-api", "spiffe://example.org/ns/shop/sa/vm-other");
    MeshResources disabled = translate(state(dr.formatted("DISABLE")), true);
    assertThat(Mesh.cluster(disabled, CLUSTER).getTransportSocketMatchesCount()).isZero();
    assertThat(Mesh.cluster(disabled, CLUSTER).hasTransportSocket()).isFalse();
    Cluster simple = Mesh.cluster(translate(state(dr.formatted("SIMPLE")), true), CLUSTER);
    assertThat(simple.getTransportSocketMatchesCount()).isZero();
    assertThat(simple.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getSni())
        .isEqualTo("api.vm.example");
  }

  @Test
  void istioMutualSniAndSubjectAltNamesGoIntoTheUpstreamTlsContextReplacingTheServiceAccounts() throws Exception {
    MeshResources r = translate(state(TLS_RULE.formatted(
        "ISTIO_MUTUAL, sni: vm.shop.internal, subjectAltNames: [ \"spiffe://example.org/ns/shop/sa/vm-new\" ]")), true);
    Cluster c = Mesh.cluster(r, CLUSTER);
    UpstreamTlsContext u = c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(u.getSni()).isEqualTo("vm.shop.internal");
    // istiod's rule: the DestinationRule's subjectAltNames replace the endpoints' service accounts
    assertThat(sans(c.getTransportSocket())).containsExactly("spiffe://example.org/ns/shop/sa/vm-new");
    // the data plane takes both
    var tls = Mesh.dataPlaneWithIdentity(r, "shop", "web").clusters().get(CLUSTER).tls().config();
    assertThat(tls.sni()).isEqualTo("vm.shop.internal");
    assertThat(tls.serverSans().toString()).contains("sa/vm-new").doesNotContain("sa/vm-api");
    // at port level (over the rule's DISABLE), as istiod's merge
    Cluster port = Mesh.cluster(translate(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: vm-api, namespace: shop }
        spec:
          host: api.vm.example
          trafficPolicy:
            tls: { mode: DISABLE }
            portLevelSettings:
            - port: { number: 80 }
              tls: { mode: ISTIO_MUTUAL, sni: port80.shop.internal, subjectAltNames: [ "spiffe://example.org/ns/shop/sa/p" ] }
        """), true), CLUSTER);
    assertThat(port.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getSni())
        .isEqualTo("port80.shop.internal");
    assertThat(sans(port.getTransportSocket())).containsExactly("spiffe://example.org/ns/shop/sa/p");
    // sni alone keeps the service accounts
    Cluster sniOnly = Mesh.cluster(translate(state(TLS_RULE.formatted("ISTIO_MUTUAL, sni: vm.shop.internal")), true),
        CLUSTER);
    assertThat(sans(sniOnly.getTransportSocket()))
        .containsExactly("spiffe://example.org/ns/shop/sa/vm-api", "spiffe://example.org/ns/shop/sa/vm-other");
  }

  @Test
  void istioMutualFromACallerWithoutIdentityFailsClosedWithNoEndpointsAndAStatusWarning() throws Exception {
    PolicySet state = state(TLS_RULE.formatted("ISTIO_MUTUAL"));
    MeshResources r = translate(state, false);
    Cluster c = Mesh.cluster(r, CLUSTER);
    // Never plaintext: no transport socket a proxy without a certificate could run, and nothing to connect to.
    assertThat(c.hasTransportSocket()).isFalse();
    assertThat(c.getTransportSocketMatchesCount()).isZero();
    assertThat(assignment(r).getEndpointsList()).isEmpty();
    assertThat(Mesh.dataPlane(r).clusters().get(CLUSTER).endpoints()).isEmpty();
    assertThat(ServiceEntryTranslator.istioMutualWithoutIdentity(state)).singleElement().asString()
        .contains(CLUSTER, "DestinationRule/shop/vm-api", "ISTIO_MUTUAL", "no workload identity");
    // A caller with an identity keeps the endpoints; without the rule there is nothing to warn about.
    assertThat(assignment(translate(state, true)).getEndpointsList()).isNotEmpty();
    assertThat(ServiceEntryTranslator.istioMutualWithoutIdentity(state(""))).isEmpty();
  }

  @Test
  void statusWarnsOnlyTheProxiesWithoutIdentityOfTheIstioMutualClustersTheyGetNoEndpointsFor() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    store.apply(PolicyParser.parse("vm.yaml", ENTRY + TLS_RULE.formatted("ISTIO_MUTUAL")).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        var plain = XdsServerTest.client(xds, false, XdsServerTest.sidecar("plain", null));
        var identified = XdsServerTest.client(xds, false, XdsServerTest.sidecar("identified",
            "spiffe://cluster.local/ns/shop/sa/product"))) {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
          .until(() -> xds.status().stream().map(ProxyStatus::nodeId).toList().containsAll(List.of("plain",
              "identified")));
      Map<String, List<String>> warnings = new TreeMap<>();
      xds.status().forEach(p -> warnings.put(p.nodeId(), p.warnings()));
      assertThat(warnings.get("plain")).anySatisfy(w -> assertThat(w).contains(CLUSTER, "ISTIO_MUTUAL"));
      assertThat(warnings.get("identified")).noneSatisfy(w -> assertThat(w).contains("ISTIO_MUTUAL"));
    }
  }

  @Test
  void theSanListIsInTheMeshCasTrustDomainNotTheFirstIdentifiedWorkloads() throws Exception {
    // A proxy announcing another trust domain (the plaintext port takes what it says) sorts first in the map.
    Map<String, MeshTranslator.Self> identities = new java.util.LinkedHashMap<>();
    identities.put("aaa", new MeshTranslator.Self("spiffe://elsewhere.example/ns/shop/sa/web", 0, 0, Map.of()));
    identities.putAll(CALLER);
    MeshResources r = new MeshTranslator(15001, false, false, OutboundTrafficPolicy.ALLOW_ANY,
        java.time.Duration.ZERO, "example.org").translateShared(state(""), List.of(), identities, true);
    assertThat(sans(Mesh.cluster(r, CLUSTER).getTransportSocketMatches(0).getTransportSocket()))
        .containsExactly("spiffe://example.org/ns/shop/sa/vm-api", "spiffe://example.org/ns/shop/sa/vm-other");
    // Not told one: Istio's default, whatever the workloads announce.
    assertThat(sans(Mesh.cluster(new MeshTranslator(15001, false).translateShared(state(""), List.of(), identities,
        true), CLUSTER).getTransportSocketMatches(0).getTransportSocket()))
        .containsExactly("spiffe://cluster.local/ns/shop/sa/vm-api", "spiffe://cluster.local/ns/shop/sa/vm-other");
  }

  @Test
  void aWorkloadEntryOfAnotherNamespaceNeitherBecomesAnEndpointNorJoinsTheSanList() throws Exception {
    MeshResources r = translate(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: evil, namespace: other }
        spec:
          address: 198.51.100.66
          labels: { app: api, security.istio.io/tlsMode: istio }
          serviceAccount: evil
        """), true);
    assertThat(sans(Mesh.cluster(r, CLUSTER).getTransportSocketMatches(0).getTransportSocket()))
        .containsExactly("spiffe://example.org/ns/shop/sa/vm-api", "spiffe://example.org/ns/shop/sa/vm-other");
    assertThat(assignment(r).getEndpointsList()).flatExtracting(LocalityLbEndpoints::getLbEndpointsList)
        .extracting(e -> e.getEndpoint().getAddress().getSocketAddress().getAddress())
        .containsExactlyInAnyOrder("192.0.2.10", "192.0.2.11", "192.0.2.12");
  }

  @Test
  void theEntrysSubjectAltNamesJoinTheSanListAndAMeshExternalEntryGetsNoAutoMtls() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY.replace("  workloadSelector:",
        "  subjectAltNames: [ \"spiffe://example.org/ns/legacy/sa/api\" ]\n  workloadSelector:")).policies(), false);
    assertThat(sans(Mesh.cluster(translate(store.current(), true), CLUSTER).getTransportSocketMatches(0)
        .getTransportSocket())).containsExactly("spiffe://example.org/ns/legacy/sa/api",
        "spiffe://example.org/ns/shop/sa/vm-api", "spiffe://example.org/ns/shop/sa/vm-other");

    PolicyStore ext = new PolicyStore();
    ext.apply(PolicyParser.parse("vm.yaml", ENTRY.replace("MESH_INTERNAL", "MESH_EXTERNAL")).policies(), false);
    Cluster c = Mesh.cluster(translate(ext.current(), true), CLUSTER);
    assertThat(c.getTransportSocketMatchesCount()).as("istiod: no auto mTLS to MESH_EXTERNAL").isZero();
    assertThat(c.hasTransportSocket()).isFalse();
  }

  @Test
  void aProxyProtocolRuleWrapsEveryMatchsSocketAsIstiodDoes() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY.replace("protocol: HTTP", "protocol: TCP") + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: vm-api, namespace: shop }
        spec:
          host: api.vm.example
          trafficPolicy: { proxyProtocol: { version: V2 } }
        """).policies(), false);
    MeshResources r = translate(store.current(), true);
    Cluster c = Mesh.cluster(r, CLUSTER);
    assertThat(c.getTransportSocket().getName()).isEqualTo(UpstreamProxyProtocol.NAME);
    assertThat(c.getTransportSocketMatchesList()).allSatisfy(m ->
        assertThat(m.getTransportSocket().getName()).isEqualTo(UpstreamProxyProtocol.NAME));
    ClusterConfig dp = Mesh.dataPlaneWithIdentity(r, "shop", "web").clusters().get(CLUSTER);
    assertThat(dp.proxyProtocolVersion()).isEqualTo(2);
    assertThat(dp.endpoints()).filteredOn(e -> dp.tls(e) != null).extracting(e -> e.host())
        .containsExactly("192.0.2.10", "192.0.2.12");
  }

  @Test
  void workloadEntryLocalitiesGroupTheAssignmentAndGiveFailoverPriorities() throws Exception {
    PolicySet s = state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: vm-api, namespace: shop }
        spec:
          host: api.vm.example
          trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } }
        """);
    MeshResources shared = translate(s, true);
    ClusterLoadAssignment a = assignment(shared);
    assertThat(a.getEndpointsList()).extracting(g -> Locality.of(g.getLocality()).toString())
        .containsExactly("us-west/a", "us-west/b");
    assertThat(a.getEndpoints(0).getLbEndpointsList()).extracting(lb -> lb.getEndpoint().getAddress().getSocketAddress()
        .getAddress()).containsExactly("192.0.2.10", "192.0.2.12");
    assertThat(a.getEndpoints(0).getLbEndpoints(0).getMetadata()).isEqualTo(EntryMtls.ISTIO_ENDPOINT);
    assertThat(a.getEndpoints(1).getLbEndpoints(0).hasMetadata()).isFalse();

    LocalityAssignments localities = new LocalityAssignments();
    localities.begin(s, List::of);
    for (var caller : Map.of("a", 0, "b", 1).entrySet()) {
      ClusterLoadAssignment forCaller = assignment(localities.localize(shared,
          localities.caller(new Locality("us-west", caller.getKey(), ""), Map.of())));
      Map<String, Integer> priorities = new TreeMap<>();
      for (LocalityLbEndpoints g : forCaller.getEndpointsList()) {
        priorities.put(g.getLocality().getZone(), g.getPriority());
      }
      assertThat(priorities).as("a caller in zone " + caller.getKey()).containsEntry(caller.getKey(), 0)
          .containsEntry(caller.getKey().equals("a") ? "b" : "a", 1);
    }
  }
}
