package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a captured sidecar receives for TCP and TLS service ports (istiod's tcp_proxy and SNI-chain
 * {@code 0.0.0.0_<port>} listeners, virtualInbound's tcp_proxy app chain) and for weighted tcp rules; that
 * a TCP port shared with a TLS one is refused (with TCP and HTTP ones: DnsTranslationTest).
 */
class StreamTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec: { ports: [ { name: tcp-sql, port: 5432 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec: { ports: [ { name: tls, port: 8443 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: api }
      spec: { ports: [ { name: https, port: 8443, protocol: TLS }, { name: http, port: 9080 } ] }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: db }
      spec:
        host: db
        subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
      """;

  private static PolicySet state(String extra) throws PolicyException {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", SERVICES + extra).policies(), false);
    return store.current();
  }

  private static MeshResources captured(PolicySet state) {
    return new MeshTranslator(15001, false, true).translate(state, List.of());
  }

  private static Listener listener(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
  }

  private static TcpProxy tcpProxy(FilterChain c) throws Exception {
    return c.getFiltersList().getLast().getTypedConfig().unpack(TcpProxy.class);
  }

  @Test
  void tcpMatchesBySourceApplyOnlyInTheProxiesTheyNameAndGatewaysOnlyWhereTheyAreNamed() throws Exception {
    PolicySet state = state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - match: [ { port: 5432, sourceLabels: { track: canary } }, { port: 5432, sourceNamespace: shop } ]
            route: [ { destination: { host: db, subset: v2 } } ]
          - match: [ { port: 5432, gateways: [ istio-system/edge ] } ]
            route: [ { destination: { host: db, subset: v2 } } ]
          - route: [ { destination: { host: db, subset: v1 } } ]
        """);
    Map<String, String> canary = Map.of("app", "api", "track", "canary");
    assertThat(tcpProxy(listener(captured(SourceMatches.view(state, canary, "default")), "0.0.0.0_5432")
        .getFilterChains(0)).getCluster()).isEqualTo("db|v2");
    assertThat(tcpProxy(listener(captured(SourceMatches.view(state, Map.of("app", "api"), "shop")), "0.0.0.0_5432")
        .getFilterChains(0)).getCluster()).as("the other match: the namespace").isEqualTo("db|v2");
    assertThat(tcpProxy(listener(captured(SourceMatches.view(state, Map.of("track", "stable"), "default")),
        "0.0.0.0_5432").getFilterChains(0)).getCluster()).as("neither; the gateway's rule is not the mesh's")
        .isEqualTo("db|v1");
    assertThat(SourceMatches.signature(state, canary, "default")).isEqualTo("10");
    // Not resolved for a proxy: the conditioned matches apply nowhere.
    assertThat(tcpProxy(listener(captured(state), "0.0.0.0_5432").getFilterChains(0)).getCluster()).isEqualTo("db|v1");
  }

  /** istiod's outbound destination CIDR chains: a tcp rule's destinationSubnets select its chain by address. */
  @Test
  void tcpDestinationSubnetsArePrefixRangeChainsBeforeTheDefaultChainAndTheDataPlaneSelectsByAddress() throws Exception {
    MeshResources r = captured(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - match: [ { port: 5432, destinationSubnets: [ 10.1.0.0/16, 192.168.7.7 ] } ]
            route: [ { destination: { host: db, subset: v2 } } ]
          - match: [ { destinationSubnets: [ 10.1.0.0/16 ] } ]
            route: [ { destination: { host: db, subset: v1 } } ]
          - route: [ { destination: { host: db, subset: v1 } } ]
        """));
    List<FilterChain> chains = listener(r, "0.0.0.0_5432").getFilterChainsList();
    assertThat(chains).hasSize(2).as("the second rule's subnets are the first's: Envoy refuses the same match twice");
    assertThat(chains.get(0).getFilterChainMatch().getPrefixRangesList())
        .extracting(c -> c.getAddressPrefix() + "/" + c.getPrefixLen().getValue())
        .containsExactly("10.1.0.0/16", "192.168.7.7/32");
    assertThat(tcpProxy(chains.get(0)).getCluster()).isEqualTo("db|v2");
    assertThat(chains.get(1).hasFilterChainMatch()).isFalse();
    assertThat(tcpProxy(chains.get(1)).getCluster()).as("the first rule without subnets").isEqualTo("db|v1");
    var db = Mesh.dataPlane(r).listeners().stream().filter(l -> l.name().equals("0.0.0.0_5432")).findFirst()
        .orElseThrow().destinationChains();
    assertThat(db.select(new java.net.InetSocketAddress("10.1.200.3", 5432)).tcpProxy().clusters().getFirst().name())
        .isEqualTo("db|v2");
    assertThat(db.select(new java.net.InetSocketAddress("192.168.7.7", 5432)).tcpProxy().clusters().getFirst().name())
        .isEqualTo("db|v2");
    assertThat(db.select(new java.net.InetSocketAddress("10.2.0.1", 5432)).tcpProxy().clusters().getFirst().name())
        .isEqualTo("db|v1");
  }

  @Test
  void tlsDestinationSubnetsNarrowTheirSniChain() throws Exception {
    MeshResources r = captured(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: web }
        spec:
          hosts: [ web ]
          tls:
          - match: [ { port: 8443, sniHosts: [ shop.example ], destinationSubnets: [ "fd00::/64" ] } ]
            route: [ { destination: { host: api } } ]
          - match: [ { port: 8443, sniHosts: [ shop.example ] } ]
            route: [ { destination: { host: web } } ]
        """));
    List<FilterChain> chains = listener(r, "0.0.0.0_8443").getFilterChainsList();
    FilterChain narrow = chains.stream().filter(c -> c.getFilterChainMatch().getPrefixRangesCount() > 0).findFirst()
        .orElseThrow();
    assertThat(narrow.getFilterChainMatch().getServerNamesList()).containsExactly("shop.example");
    assertThat(narrow.getFilterChainMatch().getPrefixRanges(0).getPrefixLen().getValue()).isEqualTo(64);
    assertThat(tcpProxy(narrow).getCluster()).isEqualTo("api");
    assertThat(chains).filteredOn(c -> c.getFilterChainMatch().getServerNamesList().contains("shop.example")
        && c.getFilterChainMatch().getPrefixRangesCount() == 0).extracting(c -> tcpProxy(c).getCluster())
        .as("the same SNI elsewhere").containsExactly("web");
    assertThat(Mesh.dataPlane(r).listeners()).anyMatch(l -> l.name().equals("0.0.0.0_8443"));
  }

  @Test
  void destinationSubnetsAreRefusedByFieldWhenMalformedMixedOrOnAGateway() {
    String vs = """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - match: %s
            route: [ { destination: { host: db, subset: v2 } } ]
        """;
    assertThatThrownBy(() -> state(vs.formatted("[ { destinationSubnets: [ 10.0.0.0/8x ] } ]")))
        .hasMessageContaining("spec.tcp[0].match[0].destinationSubnets: '10.0.0.0/8x' is not an IP address or CIDR");
    assertThatThrownBy(() -> state(vs.formatted("[ { destinationSubnets: [ 10.0.0.0/8 ] }, { port: 5432 } ]")))
        .hasMessageContaining("spec.tcp[0].match[1].destinationSubnets: some matches of this rule have"
            + " destinationSubnets and some do not");
    assertThatThrownBy(() -> state(vs.formatted("[ { destinationSubnets: [ 10.0.0.0/8 ], gateways: [ edge ] } ]")))
        .hasMessageContaining("spec.tcp[0].match[0].destinationSubnets: selects a captured sidecar's filter chains"
            + " by destination address; not supported on gateways ([default/edge])");
  }

  @Test
  void destinationSubnetsAreRefusedWhenNotAnAddressAndALengthWithinItsWidth() {
    for (String bad : List.of("10.0.0.0/40", "::/200", "10.1.2", "10.0.0.256/8")) {
      assertThatThrownBy(() -> state(tcpRules("db", """
          - match: [ { destinationSubnets: [ "%s" ] } ]
            route: [ { destination: { host: db, subset: v2 } } ]
          """.formatted(bad)))).as(bad).hasMessageContaining("spec.tcp[0].match[0].destinationSubnets: '" + bad
          + "' is not an IP address or CIDR block");
    }
  }

  private static final String DB2 = """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db2 }
      spec: { ports: [ { name: tcp-sql, port: 5432 } ] }
      """;

  /** A VirtualService {@code name} for host {@code name} with {@code tcp} rules {@code rules} (YAML list items). */
  private static String tcpRules(String name, String rules) {
    return """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: %1$s }
        spec:
          hosts: [ %1$s ]
          tcp:
        %2$s""".formatted(name, rules.indent(2));
  }

  /** The tcp_proxy cluster the data plane's {@code listener} picks for a connection to {@code ip:port}. */
  static String select(MeshResources r, String listener, String ip, int port) throws Exception {
    var chains = Mesh.dataPlane(r).listeners().stream().filter(l -> l.name().equals(listener)).findFirst()
        .orElseThrow().destinationChains();
    return chains.select(new java.net.InetSocketAddress(ip, port)).tcpProxy().clusters().getFirst().name();
  }

  /**
   * istiod builds a service's subnet chains inside its own {@code <VIP>_<port>} listener: on the shared
   * {@code 0.0.0.0_<port>} a rule's subnets take only the service's own VIP, never another address of the port.
   */
  @Test
  void onAPortSharedByVipASubnetRuleTakesOnlyItsServicesVip() throws Exception {
    String rules = """
        - match: [ { destinationSubnets: [ SUBNET ] } ]
          route: [ { destination: { host: db, subset: v2 } } ]
        - route: [ { destination: { host: db, subset: v1 } } ]
        """;
    PolicySet state = state(DB2 + tcpRules("db", rules.replace("SUBNET", "10.1.0.0/16"))
        + tcpRules("db2", rules.replace("SUBNET", "10.1.0.0/16")));
    MeshResources r = captured(state);
    String dbVip = ServiceAddresses.of(state.ofType(io.keelson.control.policy.Policy.Service.class)).get("db");
    assertThat(select(r, "0.0.0.0_5432", "10.1.5.5", 5432)).as("an address of neither service: not db's rule's")
        .isEqualTo("PassthroughCluster");
    assertThat(select(r, "0.0.0.0_5432", dbVip, 5432)).as("db's VIP is outside its subnet: its catch-all rule")
        .isEqualTo("db|v1");

    MeshResources inside = captured(state(DB2 + tcpRules("db", rules.replace("SUBNET", dbVip + "/8"))));
    assertThat(select(inside, "0.0.0.0_5432", dbVip, 5432)).as("db's VIP in its subnet: the subnet rule")
        .isEqualTo("db|v2");
    assertThat(listener(inside, "0.0.0.0_5432").getFilterChainsList()).as("the VIP once, in the subnet chain")
        .filteredOn(c -> c.getName().startsWith("outbound|5432||db|") || c.getName().equals("outbound|5432||db"))
        .hasSize(1);
  }

  /** istiod stops at the first tcp rule that takes every address ({@code break TcpLoop}): later rules never apply. */
  @Test
  void rulesAfterTheFirstRuleWithoutSubnetsNeverApply() throws Exception {
    MeshResources r = captured(state(tcpRules("db", """
        - route: [ { destination: { host: db, subset: v1 } } ]
        - match: [ { destinationSubnets: [ 10.1.0.0/16 ] } ]
          route: [ { destination: { host: db, subset: v2 } } ]
        """)));
    assertThat(listener(r, "0.0.0.0_5432").getFilterChainsList()).singleElement()
        .satisfies(c -> assertThat(tcpProxy(c).getCluster()).isEqualTo("db|v1"));
    Mesh.dataPlane(r);
  }

  /** A match's subnets apply only where its own source conditions hold. */
  @Test
  void subnetsStayWithTheMatchThatNamesThemAndItsSourceConditions() throws Exception {
    PolicySet state = state(tcpRules("db", """
        - match:
          - { sourceLabels: { track: canary }, destinationSubnets: [ 10.1.0.0/16 ] }
          - { sourceNamespace: shop, destinationSubnets: [ 10.2.0.0/16 ] }
          route: [ { destination: { host: db, subset: v2 } } ]
        - route: [ { destination: { host: db, subset: v1 } } ]
        """));
    MeshResources canary = captured(SourceMatches.view(state, Map.of("track", "canary"), "default"));
    assertThat(select(canary, "0.0.0.0_5432", "10.1.0.9", 5432)).isEqualTo("db|v2");
    assertThat(select(canary, "0.0.0.0_5432", "10.2.0.9", 5432)).as("the shop match's subnet").isEqualTo("db|v1");
    MeshResources shop = captured(SourceMatches.view(state, Map.of("app", "api"), "shop"));
    assertThat(select(shop, "0.0.0.0_5432", "10.2.0.9", 5432)).isEqualTo("db|v2");
    assertThat(select(shop, "0.0.0.0_5432", "10.1.0.9", 5432)).as("the canary match's subnet").isEqualTo("db|v1");
  }

  @Test
  void aTcpPortIsATcpProxyListenerToTheServicesCluster() throws Exception {
    MeshResources r = captured(state(""));
    Listener db = listener(r, "0.0.0.0_5432");
    assertThat(db.getBindToPort().getValue()).isFalse();
    assertThat(db.getFilterChainsList()).hasSize(1);
    assertThat(db.getFilterChains(0).getFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.network.tcp_proxy");
    assertThat(tcpProxy(db.getFilterChains(0)).getCluster()).isEqualTo("db");
    assertThat(tcpProxy(db.getFilterChains(0)).getStatPrefix()).isEqualTo("outbound|5432||db");
    assertThat(r.routes()).extracting(RouteConfiguration::getName).as("no HTTP routes for TCP and TLS ports")
        .containsExactly("outbound", "9080");
    assertThat(r.routes().getFirst().getVirtualHostsList()).extracting(VirtualHost::getName)
        .as("only HTTP ports are in the HTTP route configuration").containsExactly("api");
  }

  @Test
  void aWeightedTcpRuleIsTcpProxyWeightedClusters() throws Exception {
    MeshResources r = captured(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - match: [ { port: 5432 } ]
            route:
            - { destination: { host: db, subset: v1 }, weight: 75 }
            - { destination: { host: db, subset: v2 }, weight: 25 }
        """));
    TcpProxy tp = tcpProxy(listener(r, "0.0.0.0_5432").getFilterChains(0));
    assertThat(tp.hasWeightedClusters()).isTrue();
    assertThat(tp.getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight()).containsExactly("db|v1=75", "db|v2=25");
  }

  @Test
  void aTcpRouteSplitsByBackendWeights() throws Exception {
    MeshResources r = captured(state("""
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db-v2 }
        spec: { ports: [ { name: tcp, port: 5433 } ] }
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: db }
        spec:
          parentRefs: [ { kind: Service, name: db, port: 5432 } ]
          rules: [ { backendRefs: [ { name: db, weight: 1 }, { name: db-v2, weight: 1 } ] } ]
        """));
    TcpProxy tp = tcpProxy(listener(r, "0.0.0.0_5432").getFilterChains(0));
    assertThat(tp.getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight()).containsExactly("db=1", "db-v2=1");
    assertThat(tcpProxy(listener(r, "0.0.0.0_5433").getFilterChains(0)).getCluster()).isEqualTo("db-v2");
  }

  @Test
  void aTlsPortIsRoutedBySniToTcpProxies() throws Exception {
    MeshResources r = captured(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: web }
        spec:
          hosts: [ web ]
          tls:
          - match: [ { port: 8443, sniHosts: [ shop.example ] } ]
            route: [ { destination: { host: api } } ]
        """));
    Listener tls = listener(r, "0.0.0.0_8443");
    assertThat(tls.getListenerFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.listener.tls_inspector");
    List<FilterChain> chains = tls.getFilterChainsList();
    assertThat(chains).extracting(c -> (List<String>) List.copyOf(c.getFilterChainMatch().getServerNamesList())).containsExactly(
        List.of("shop.example"), MeshNames.names("api"), MeshNames.names("web"), List.<String>of());
    assertThat(MeshNames.names("web")).containsExactly("web", "web.default", "web.default.svc",
        "web.default.svc.cluster.local");
    assertThat(tcpProxy(chains.get(0)).getCluster()).isEqualTo("api");
    assertThat(tcpProxy(chains.get(1)).getCluster()).isEqualTo("api");
    assertThat(tcpProxy(chains.get(2)).getCluster()).isEqualTo("web");
    assertThat(tcpProxy(chains.get(3)).getCluster()).as("ALLOW_ANY").isEqualTo("PassthroughCluster");
  }

  @Test
  void aTlsServicesOwnChainMatchesEveryNameItsAppsResolveUnlessARuleTookIt() throws Exception {
    MeshResources r = captured(state("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: web }
        spec:
          hosts: [ web ]
          tls:
          - match: [ { port: 8443, sniHosts: [ web.default.svc ] } ]
            route: [ { destination: { host: api } } ]
        """));
    List<FilterChain> chains = listener(r, "0.0.0.0_8443").getFilterChainsList();
    assertThat(chains).extracting(c -> (List<String>) List.copyOf(c.getFilterChainMatch().getServerNamesList())).containsExactly(
        List.of("web.default.svc"),
        List.of("api", "api.default", "api.default.svc", "api.default.svc.cluster.local"),
        List.of("web", "web.default", "web.default.svc.cluster.local"), List.<String>of());
    assertThat(tcpProxy(chains.get(0)).getCluster()).as("the rule's name stays the rule's").isEqualTo("api");
    assertThat(tcpProxy(chains.get(2)).getCluster()).isEqualTo("web");
  }

  @Test
  void aTcpAppPortsVirtualInboundChainIsTheTcpInboundListenersChain() throws Exception {
    PolicySet state = state("""
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: { name: default, namespace: shop }
        spec: { mtls: { mode: STRICT } }
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: clients, namespace: shop }
        spec:
          selector: { matchLabels: { app: db } }
          action: ALLOW
          rules:
          - from: [ { source: { principals: [ "cluster.local/ns/shop/sa/web" ] } } ]
        """);
    String spiffe = "spiffe://cluster.local/ns/shop/sa/db";
    Map<String, String> labels = Map.of("app", "db");
    var capture = new NodeRegistration.Capture("10.1.0.9", 5432, 15006, 15001);
    MeshTranslator.Self self = new MeshTranslator.Self(spiffe, 15006, 5432, labels, false, capture, "db");
    MeshTranslator.Self tcpFlag = new MeshTranslator.Self(spiffe, 5432, 5432, labels, true);
    Listener virtual = listener(MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(state, List.of(), Map.of(), true), state, self, ExtAuthzClusters.NONE), "virtualInbound");
    Listener today = listener(MeshTranslator.withInbound(new MeshTranslator(15001, false)
        .translateShared(state, List.of(), Map.of(), true), state, tcpFlag, ExtAuthzClusters.NONE), "inbound");
    FilterChain app = virtual.getFilterChains(0);
    assertThat(app.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(5432);
    assertThat(app.hasTransportSocket()).as("STRICT: mTLS").isTrue();
    assertThat(tcpProxy(app).getCluster()).isEqualTo("inbound|5432");
    assertThat(app.getFiltersList()).extracting(f -> f.getName())
        .containsExactly("istio.metadata_exchange", "envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
    assertThat(app.getFiltersList().stream().map(f -> f.getName()).toList())
        .isEqualTo(today.getFilterChains(0).getFiltersList().stream().map(f -> f.getName()).toList());
    assertThat(app.getTransportSocket()).isEqualTo(today.getFilterChains(0).getTransportSocket());
  }

  @Test
  void statusWarnsASidecarWithoutCaptureThatItCannotReachTcpAndTlsServices() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient plain = XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false,
            Node.newBuilder().setId("plain").build()).withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { })) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.nodeIds().contains("plain"));
      ProxyStatus status = xds.status().stream().filter(p -> p.nodeId().equals("plain")).findFirst().orElseThrow();
      assertThat(status.warnings()).containsExactly("cannot reach api:8443 (TLS), db:5432 (TCP), web:8443 (TLS): TCP and"
          + " TLS services need traffic capture (a sidecar with --capture iptables); this proxy's outbound listener"
          + " serves HTTP only");
    }
  }

  @Test
  void aTcpPortSharedWithAnotherServiceIsRefusedNamingBoth() {
    assertThatThrownBy(() -> state("""
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: cache }
        spec: { ports: [ { port: 5432, protocol: TLS } ] }
        """)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.ports[0].port: port 5432 (TLS) is also port 5432 (TCP) of Service/db");
  }
}
