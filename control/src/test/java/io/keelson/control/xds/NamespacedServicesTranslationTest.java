package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two services named {@code reviews}, in namespaces shop and bookinfo, beside namespace default's: their own clusters,
 * endpoints, subsets and VIPs; hosts resolved in each document's namespace (VirtualService, DestinationRule);
 * short names per client namespace in the name table and the virtual hosts (Kubernetes' search path); a Sidecar's
 * {@code shop/*} egress; cross-namespace hosts that name no Service refused with their field path.
 */
class NamespacedServicesTranslationTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: shop }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: bookinfo }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-1, namespace: shop }
      spec: { service: reviews, address: 127.0.0.11, port: 19080, labels: { version: v1 } }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-1, namespace: bookinfo }
      spec: { service: reviews, address: 127.0.0.12, port: 19080, labels: { version: v2 } }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-1 }
      spec: { service: reviews, address: 127.0.0.13, port: 19080 }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews, namespace: shop }
      spec: { host: reviews, subsets: [ { name: v1, labels: { version: v1 } } ] }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews, namespace: bookinfo }
      spec: { host: reviews.bookinfo.svc.cluster.local, subsets: [ { name: v2, labels: { version: v2 } } ] }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews, namespace: shop }
      spec:
        hosts: [ reviews ]
        http: [ { route: [ { destination: { host: reviews, subset: v1 } } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews, namespace: bookinfo }
      spec:
        hosts: [ reviews.bookinfo ]
        http: [ { route: [ { destination: { host: reviews.bookinfo.svc, subset: v2 } } ] } ]
      """;

  private static PolicySet state(String yaml) throws PolicyException {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store.current();
  }

  private static List<String> clusterNames(MeshResources r) {
    return r.clusters().stream().map(Cluster::getName).toList();
  }

  private static VirtualHost host(RouteConfiguration rc, String name) {
    return rc.getVirtualHostsList().stream().filter(vh -> vh.getName().equals(name)).findFirst().orElseThrow();
  }

  private static String tableIp(MeshResources r, String name) {
    Struct table = r.listeners().getFirst().getMetadata().getFilterMetadataOrThrow(MeshNames.METADATA_KEY)
        .getFieldsOrThrow("table").getStructValue();
    return table.getFieldsOrThrow(name).getStructValue().getFieldsOrThrow("ips").getListValue().getValues(0)
        .getStringValue();
  }

  @Test
  void twoServicesOfOneNameInTwoNamespacesHaveTheirOwnClustersEndpointsSubsetsAndVips() throws Exception {
    PolicySet state = state(MESH);
    assertThat(state.byKey()).containsKeys("Service/reviews", "Service/shop/reviews", "Service/bookinfo/reviews",
        "Workload/shop/reviews-1", "Workload/bookinfo/reviews-1", "VirtualService/shop/reviews",
        "VirtualService/bookinfo/reviews", "DestinationRule/shop/reviews");
    MeshResources r = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(clusterNames(r)).contains("reviews", "reviews.shop", "reviews.bookinfo", "reviews.shop|v1",
        "reviews.bookinfo|v2");
    Map<String, String> endpoints = new java.util.HashMap<>();
    for (ClusterLoadAssignment a : r.endpoints()) {
      endpoints.put(a.getClusterName(), a.getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
          .getSocketAddress().getAddress());
    }
    assertThat(endpoints).containsEntry("reviews.shop", "127.0.0.11").containsEntry("reviews.bookinfo", "127.0.0.12")
        .containsEntry("reviews", "127.0.0.13").containsEntry("reviews.shop|v1", "127.0.0.11");
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    assertThat(new java.util.HashSet<>(List.of(vips.get("reviews"), vips.get("reviews.shop"),
        vips.get("reviews.bookinfo")))).hasSize(3);
    // Each VirtualService's short and qualified hosts resolved in its own namespace.
    RouteConfiguration routes = r.routes().getFirst();
    assertThat(host(routes, "reviews.shop").getRoutes(0).getRoute().getCluster()).isEqualTo("reviews.shop|v1");
    assertThat(host(routes, "reviews.bookinfo").getRoutes(0).getRoute().getCluster())
        .isEqualTo("reviews.bookinfo|v2");
    assertThat(host(routes, "reviews").getRoutes(0).getRoute().getCluster()).isEqualTo("reviews");
  }

  @Test
  void aSidecarResolvesShortNamesInItsOwnNamespaceAndQualifiedNamesEverywhere() throws Exception {
    PolicySet state = state(MESH);
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    MeshResources shared = new MeshTranslator(15001, false, true).translate(state, List.of());
    MeshResources shop = ClientNamespaceNames.apply(shared, state, "shop");
    MeshResources bookinfo = ClientNamespaceNames.apply(shared, state, "bookinfo");
    assertThat(ClientNamespaceNames.apply(shared, state, "default")).isSameAs(shared);
    MeshResources payments = ClientNamespaceNames.apply(shared, state, "payments");
    assertThat(tableNames(payments)).as("no reviews in payments: the short name is nobody's (Kubernetes' search path)")
        .doesNotContain("reviews").contains("reviews.default", "reviews.default.svc.cluster.local", "reviews.shop");
    assertThat(tableNames(shared)).contains("reviews");
    assertThat(tableIp(shop, "reviews")).isEqualTo(vips.get("reviews.shop"));
    assertThat(tableIp(bookinfo, "reviews")).isEqualTo(vips.get("reviews.bookinfo"));
    assertThat(tableIp(shared, "reviews")).isEqualTo(vips.get("reviews"));
    for (MeshResources r : List.of(shared, shop, bookinfo)) {
      assertThat(tableIp(r, "reviews.shop")).isEqualTo(vips.get("reviews.shop"));
      assertThat(tableIp(r, "reviews.shop.svc")).isEqualTo(vips.get("reviews.shop"));
      assertThat(tableIp(r, "reviews.bookinfo.svc.cluster.local")).isEqualTo(vips.get("reviews.bookinfo"));
      assertThat(tableIp(r, "reviews.default.svc.cluster.local")).isEqualTo(vips.get("reviews"));
    }
    assertThat(shop.listenersVersion()).isNotEqualTo(shared.listenersVersion());
    // The per-port routes: the short name (and name:port) is the client namespace's service's, once.
    RouteConfiguration port = shop.routes().stream().filter(rc -> rc.getName().equals("9080")).findFirst().orElseThrow();
    assertThat(host(port, "reviews.shop").getDomainsList()).contains("reviews", "reviews:9080", "reviews.shop",
        "reviews.shop.svc.cluster.local:9080");
    assertThat(host(port, "reviews").getDomainsList()).doesNotContain("reviews", "reviews:9080")
        .contains("reviews.default", "reviews.default:9080");
    assertThat(host(port, "reviews.bookinfo").getDomainsList()).doesNotContain("reviews");
    for (MeshResources r : List.of(shared, shop, bookinfo)) {
      for (RouteConfiguration rc : r.routes()) {
        List<String> all = new ArrayList<>();
        rc.getVirtualHostsList().forEach(vh -> all.addAll(vh.getDomainsList()));
        assertThat(all).as(rc.getName() + ": Envoy refuses a domain in two virtual hosts").doesNotHaveDuplicates();
      }
    }
    // A plain sidecar of bookinfo: Host reviews is bookinfo's, reviews.default the default one's.
    MeshResources plain = ClientNamespaceNames.apply(new MeshTranslator(15001, false).translate(state, List.of()), state,
        "bookinfo");
    assertThat(host(plain.routes().getFirst(), "reviews.bookinfo").getDomainsList()).contains("reviews",
        "reviews:9080", "reviews.bookinfo");
    assertThat(host(plain.routes().getFirst(), "reviews").getDomainsList()).containsExactlyInAnyOrder(
        "reviews.default", "reviews.default:9080", "reviews.default.svc", "reviews.default.svc:9080",
        "reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:9080");
  }

  private static List<String> tableNames(MeshResources r) {
    return List.copyOf(r.listeners().getFirst().getMetadata().getFilterMetadataOrThrow(MeshNames.METADATA_KEY)
        .getFieldsOrThrow("table").getStructValue().getFieldsMap().keySet());
  }

  private static List<String> domains(MeshResources r) {
    return r.routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .flatMap(vh -> vh.getDomainsList().stream()).toList();
  }

  /**
   * istiod's domains for a registry Service on a plain sidecar's outbound routes: {@code NAME.NS.svc.cluster.local},
   * {@code NAME.NS.svc}, {@code NAME.NS} (and {@code NAME} in its own namespace), each also with {@code :port}; a
   * short name that no Service of the client's namespace has is no domain there, not namespace default's.
   */
  @Test
  void aPlainSidecarRoutesFullyQualifiedNamesAndOnlyItsOwnNamespacesShortNames() throws Exception {
    PolicySet state = state(MESH);
    MeshResources shared = new MeshTranslator(15001, false).translate(state, List.of());
    VirtualHost shop = host(shared.routes().getFirst(), "reviews.shop");
    assertThat(shop.getDomainsList()).containsExactlyInAnyOrder("reviews.shop", "reviews.shop:9080",
        "reviews.shop.svc", "reviews.shop.svc:9080", "reviews.shop.svc.cluster.local",
        "reviews.shop.svc.cluster.local:9080");
    assertThat(host(shared.routes().getFirst(), "reviews").getDomainsList()).containsExactlyInAnyOrder("reviews",
        "reviews:9080", "reviews.default", "reviews.default:9080", "reviews.default.svc", "reviews.default.svc:9080",
        "reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:9080");
    assertThat(ClientNamespaceNames.apply(shared, state, "default")).isSameAs(shared);
    MeshResources payments = ClientNamespaceNames.apply(shared, state, "payments");
    assertThat(domains(payments)).doesNotContain("reviews", "reviews:9080").doesNotHaveDuplicates()
        .contains("reviews.default", "reviews.default.svc.cluster.local:9080", "reviews.shop.svc");
    assertThat(domains(ClientNamespaceNames.apply(shared, state, "shop"))).doesNotHaveDuplicates();
  }

  /**
   * The data plane's DNS proxy on a captured sidecar of namespace payments (no {@code reviews} there), asked with dig
   * along the pod's search path ({@code payments.svc.cluster.local}, {@code svc.cluster.local}, {@code cluster.local}):
   * {@code reviews.payments.svc.cluster.local} and {@code reviews.svc.cluster.local} are NXDOMAIN, never namespace
   * default's VIP, while {@code reviews.default.svc.cluster.local} and {@code reviews.default} are its VIP; a sidecar of
   * namespace default still resolves {@code reviews} to it.
   */
  @Test
  void aDnsProxyOfANamespaceWithoutTheServiceAnswersNxdomainForDefaultsShortName() throws Exception {
    PolicySet state = state(MESH);
    String vip = ServiceAddresses.of(state.ofType(Policy.Service.class)).get("reviews");
    MeshResources shared = new MeshTranslator(15001, false, true).translate(state, List.of());
    var payments = Mesh.dataPlane(ClientNamespaceNames.apply(shared, state, "payments")).names();
    var defaults = Mesh.dataPlane(ClientNamespaceNames.apply(shared, state, "default")).names();
    var config = new io.keelson.dataplane.dns.DnsConfig("127.0.0.1", 0, List.of(new java.net.InetSocketAddress(
        "127.0.0.1", 9)), List.of("payments.svc.cluster.local", "svc.cluster.local", "cluster.local"),
        java.time.Duration.ofSeconds(2), 16, 8);
    try (var dns = io.keelson.dataplane.dns.DnsServer.start(config, () -> payments,
            new io.keelson.dataplane.stats.StatsRegistry());
        var dnsOfDefault = io.keelson.dataplane.dns.DnsServer.start(config, () -> defaults,
            new io.keelson.dataplane.stats.StatsRegistry())) {
      int port = dns.udpAddress().getPort();
      assertThat(dig(port, "reviews.payments.svc.cluster.local")).isEqualTo("NXDOMAIN");
      assertThat(dig(port, "reviews.svc.cluster.local")).as("the search path's second try: not default's")
          .isEqualTo("NXDOMAIN");
      assertThat(dig(port, "reviews.default.svc.cluster.local")).isEqualTo("NOERROR " + vip);
      assertThat(dig(port, "reviews.default")).isEqualTo("NOERROR " + vip);
      assertThat(dig(dnsOfDefault.udpAddress().getPort(), "reviews.svc.cluster.local")).isEqualTo("NOERROR " + vip);
    }
  }

  /** dig's status for an A query of {@code name} to 127.0.0.1:{@code port}, and the first address when there is one. */
  private static String dig(int port, String name) throws Exception {
    Process p = new ProcessBuilder("dig", "@127.0.0.1", "-p", Integer.toString(port), "+tries=1", "+time=5", name, "A")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    var status = java.util.regex.Pattern.compile("status: (\\w+)").matcher(out);
    assertThat(status.find()).as(out).isTrue();
    var answer = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name)
        + "\\.\\s+\\d+\\s+IN\\s+A\\s+(\\S+)").matcher(out);
    return status.group(1) + (answer.find() ? " " + answer.group(1) : "");
  }

  /**
   * A captured sidecar's TLS chains by SNI follow the same search path: SNI {@code vault} is the client namespace's
   * TLS service's, and no chain's in a namespace without one (namespace default's is {@code vault.default...}).
   */
  @Test
  void aTlsServicesShortSniNameIsOnlyTheClientNamespacesService() throws Exception {
    PolicySet state = state("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: vault }
        spec: { ports: [ { name: tls, port: 8443 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: vault, namespace: shop }
        spec: { ports: [ { name: tls, port: 8443 } ] }
        """);
    MeshResources shared = new MeshTranslator(15001, false, true).translate(state, List.of());
    assertThat(sniChainOf(shared, "vault")).isEqualTo(sniChainOf(shared, "vault.default"));
    MeshResources shop = ClientNamespaceNames.apply(shared, state, "shop");
    assertThat(sniChainOf(shop, "vault")).isEqualTo(sniChainOf(shop, "vault.shop.svc.cluster.local"))
        .isNotEqualTo(sniChainOf(shop, "vault.default"));
    MeshResources payments = ClientNamespaceNames.apply(shared, state, "payments");
    assertThat(sniChainOf(payments, "vault")).as("no vault in payments").isNull();
    assertThat(sniChainOf(payments, "vault.default.svc.cluster.local")).isNotNull();
  }

  /**
   * A VirtualService's tls {@code sniHosts} are matched as written, as istiod's (it expands no sniHosts): the rule's
   * chain keeps SNI {@code db}, ahead of the service's own chain, which does not take the short name for shop's
   * clients.
   */
  @Test
  void aTlsRulesShortSniHostIsTheRulesChainNotTheServicesOwn() throws Exception {
    PolicySet state = state("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db, namespace: shop }
        spec: { ports: [ { name: tls, port: 8443 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: other, namespace: shop }
        spec: { ports: [ { name: tls, port: 8443 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db, namespace: shop }
        spec:
          hosts: [ db ]
          tls:
          - match: [ { port: 8443, sniHosts: [ db ] } ]
            route: [ { destination: { host: other } } ]
        """);
    MeshResources shared = new MeshTranslator(15001, false, true).translate(state, List.of());
    for (MeshResources r : List.of(ClientNamespaceNames.apply(shared, state, "shop"), shared)) {
      List<io.envoyproxy.envoy.config.listener.v3.FilterChain> chains = chains(r, "db");
      assertThat(chains).as("one chain for SNI db").hasSize(1);
      assertThat(tcpProxyCluster(chains.getFirst())).as("the rule's destination")
          .isEqualTo(tcpProxyCluster(chains(r, "other.shop.svc.cluster.local").getFirst()));
    }
    assertThat(sniChainOf(shared, "db.shop.svc.cluster.local")).isNotEqualTo(sniChainOf(shared, "db"));
  }

  /** The chains of {@code 0.0.0.0_8443} matching SNI {@code name}. */
  private static List<io.envoyproxy.envoy.config.listener.v3.FilterChain> chains(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals("0.0.0.0_8443")).findFirst().orElseThrow()
        .getFilterChainsList().stream().filter(c -> c.getFilterChainMatch().getServerNamesList().contains(name))
        .toList();
  }

  private static String tcpProxyCluster(io.envoyproxy.envoy.config.listener.v3.FilterChain chain) throws Exception {
    return chain.getFilters(0).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class).getCluster();
  }

  /** The name of the chain of {@code 0.0.0.0_8443} matching SNI {@code name}, or null. */
  private static String sniChainOf(MeshResources r, String name) {
    return chains(r, name).stream().map(io.envoyproxy.envoy.config.listener.v3.FilterChain::getName).findFirst()
        .orElse(null);
  }

  @Test
  void aProxylessGrpcClientDialingTheShortNameGetsItsNamespacesService() throws Exception {
    PolicySet state = state(MESH);
    MeshResources shared = new MeshTranslator(15001, true).translate(state, List.of());
    MeshResources shop = ClientNamespaceNames.apply(shared, state, "shop");
    List<String> names = shop.listeners().stream().map(io.envoyproxy.envoy.config.listener.v3.Listener::getName)
        .toList();
    assertThat(names).doesNotHaveDuplicates().contains("reviews", "reviews.shop", "reviews.bookinfo",
        "reviews.default", "reviews.shop.svc", "reviews.shop.svc.cluster.local", "reviews.default.svc.cluster.local");
    assertThat(ClientNamespaceNames.apply(shared, state, "payments").listeners())
        .extracting(io.envoyproxy.envoy.config.listener.v3.Listener::getName)
        .as("xds:///reviews from payments: no such service").doesNotContain("reviews").contains("reviews.default");
    var reviews = shop.listeners().stream().filter(l -> l.getName().equals("reviews")).findFirst().orElseThrow();
    assertThat(reviews.getApiListener()).isEqualTo(shop.listeners().stream()
        .filter(l -> l.getName().equals("reviews.shop")).findFirst().orElseThrow().getApiListener());
    // The authority it sends, reviews, picks shop's virtual host in the route configuration.
    assertThat(host(shop.routes().getFirst(), "reviews.shop").getDomainsList()).contains("reviews");
    assertThat(shared.listeners().stream().filter(l -> l.getName().equals("reviews")).findFirst().orElseThrow()
        .getApiListener()).isNotEqualTo(reviews.getApiListener()).as("namespace default's, for other clients");
  }

  @Test
  void aSidecarEgressOfOneNamespaceAdmitsOnlyThatNamespacesServices() throws Exception {
    PolicySet state = state(MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: default, namespace: shop }
        spec: { egress: [ { hosts: [ "./*" ] } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: one, namespace: bookinfo }
        spec: { egress: [ { hosts: [ "shop/reviews.shop.svc.cluster.local" ] } ] }
        """);
    Policy.Sidecar shopScope = state.ofType(Policy.Sidecar.class).stream().filter(s -> s.namespace().equals("shop"))
        .findFirst().orElseThrow();
    Policy.Sidecar named = state.ofType(Policy.Sidecar.class).stream().filter(s -> s.namespace().equals("bookinfo"))
        .findFirst().orElseThrow();
    assertThat(clusterNames(new MeshTranslator(15001, false).translate(SidecarScopes.scoped(state, shopScope),
        List.of()))).contains("reviews.shop", "reviews.shop|v1").doesNotContain("reviews", "reviews.bookinfo");
    assertThat(clusterNames(new MeshTranslator(15001, false).translate(SidecarScopes.scoped(state, named),
        List.of()))).contains("reviews.shop").doesNotContain("reviews", "reviews.bookinfo");
  }

  @Test
  void anIngressGatewayVirtualServiceRoutesToQualifiedHostsOfEachNamespace() throws Exception {
    PolicySet state = state(MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers: [ { port: { number: 8080, name: http, protocol: HTTP }, hosts: [ shop.example.com ] } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: edge, namespace: istio-system }
        spec:
          hosts: [ shop.example.com ]
          gateways: [ ingress ]
          http:
          - match: [ { uri: { prefix: /books } } ]
            route: [ { destination: { host: reviews.bookinfo.svc.cluster.local } } ]
          - route: [ { destination: { host: reviews.shop.svc.cluster.local, subset: v1 } } ]
        """);
    MeshResources gw = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    List<String> clusters = new ArrayList<>();
    gw.routes().forEach(rc -> rc.getVirtualHostsList().forEach(vh -> vh.getRoutesList()
        .forEach(r -> clusters.add(r.getRoute().getCluster()))));
    assertThat(clusters).containsExactly("reviews.bookinfo", "reviews.shop|v1");
  }

  @Test
  void anEnvoyFilterClusterMatchNamesTheServiceOfTheNamespaceItsHostSays() {
    assertThat(EnvoyFilterPatches.registryService("reviews.shop.svc.cluster.local", "reviews.shop")).isTrue();
    assertThat(EnvoyFilterPatches.registryService("reviews.shop", "reviews.shop")).isTrue();
    assertThat(EnvoyFilterPatches.registryService("reviews.shop.svc.cluster.local", "reviews")).isFalse();
    assertThat(EnvoyFilterPatches.registryService("reviews.default.svc.cluster.local", "reviews")).isTrue();
    assertThat(EnvoyFilterPatches.registryService("reviews", "reviews.shop")).isFalse();
    assertThat(EnvoyFilterPatches.registryService("reviews", "shop", "reviews.shop"))
        .as("an EnvoyFilter of shop naming service: reviews means shop's").isTrue();
    assertThat(EnvoyFilterPatches.registryService("reviews", "shop", "reviews")).isFalse();
    assertThat(IstioClusterNames.keelsonName("outbound|9080|v1|reviews.shop.svc.cluster.local",
        List.of("reviews", "reviews|v1", "reviews.shop", "reviews.shop|v1"))).isEqualTo("reviews.shop|v1");
  }

  @Test
  void hostsNamingNoServiceOfTheirNamespaceAreRefusedWithTheirFieldPath() {
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: to-ratings, namespace: shop }
        spec:
          hosts: [ reviews ]
          http: [ { route: [ { destination: { host: reviews.payments.svc.cluster.local } } ] } ]
        """)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("VirtualService/shop/to-ratings: spec.http[0].route[0].destination.host: no Service"
            + " 'reviews.payments' is registered");
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: ratings }
        spec: { ports: [ { port: 9080 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: ratings, namespace: shop }
        spec: { host: ratings }
        """)).as("a short host is the document's namespace's, not default's")
        .hasMessageContaining("DestinationRule/shop/ratings: spec.host: no Service 'ratings.shop' is registered");
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: stray, namespace: payments }
        spec: { service: reviews, address: 127.0.0.14, port: 19080 }
        """)).hasMessageContaining("Workload/payments/stray: spec.service: no Service 'reviews.payments'");
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: reviews.shop }
        spec: { ports: [ { port: 9080 } ] }
        """)).hasMessageContaining("Service/reviews.shop: metadata.name: 'reviews.shop' is not a Service name: a"
            + " Service name has no '.'");
  }

  @Test
  void anotherNamespacesMeshVirtualServiceForAServiceIsRefusedNamingTheServicesOwn() {
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: takeover, namespace: bookinfo }
        spec:
          hosts: [ reviews.shop ]
          http: [ { route: [ { destination: { host: reviews.bookinfo } } ] } ]
        """)).as("shop's reviews is routed by shop's VirtualService; bookinfo's would be merged into it")
        .hasMessageContaining("VirtualService/bookinfo/takeover: spec.hosts[0]: service 'reviews.shop' is already"
            + " routed for the mesh by VirtualService/shop/reviews (namespace shop)");
  }

  @Test
  void aDestinationRuleForAnotherNamespacesServiceIsAcceptedInAnyNamespace() throws Exception {
    String drForShop = """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: shop-reviews, namespace: NS }
        spec: { host: reviews.shop.svc.cluster.local, trafficPolicy: { loadBalancer: { simple: RANDOM } } }
        """;
    // Each client looks its rule up in its own namespace first (ClientNamespaceDestinationRuleTest), so another
    // namespace's rule for shop's reviews takes nothing from shop's clients.
    assertThat(state(MESH + drForShop.replace("NS", "bookinfo") + drForShop.replace("NS", "istio-system"))
        .ofType(Policy.DestinationRule.class)).extracting(dr -> dr.meta().key()).contains(
            "DestinationRule/shop/reviews", "DestinationRule/bookinfo/shop-reviews",
            "DestinationRule/istio-system/shop-reviews");
  }

  @Test
  void aDottedServiceNameOfAnotherNamespaceIsRefusedWhereverAServiceIsNamedByName() {
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: intruder }
        spec: { service: reviews.shop, address: 127.0.0.14, port: 19080 }
        """)).as("a Workload of default cannot join shop's reviews")
        .hasMessageContaining("Workload/intruder: spec.service: 'reviews.shop' is not a Service name");
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: takeover }
        spec:
          parentRefs: [ { group: "", kind: Service, name: reviews.shop } ]
          rules: [ { backendRefs: [ { name: reviews, namespace: shop, port: 9080 } ] } ]
        """)).as("a route of default cannot attach to shop's reviews by a dotted parentRef name")
        .hasMessageContaining("HTTPRoute/takeover: spec.parentRefs[0].name: 'reviews.shop' is not a Service name");
    assertThatThrownBy(() -> state(MESH + """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: sneak, namespace: shop }
        spec:
          parentRefs: [ { group: "", kind: Service, name: reviews } ]
          rules: [ { backendRefs: [ { name: reviews.bookinfo, port: 9080 } ] } ]
        """)).as("a backendRef names another namespace by its namespace field (and a ReferenceGrant)")
        .hasMessageContaining("spec.rules[0].backendRefs[0].name: 'reviews.bookinfo' is not a Service name");
  }

  @Test
  void deletingByNamespaceLeavesTheOtherNamespacesServiceOfThatName() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    assertThatThrownBy(() -> store.delete("Service", null, "reviews", false)).isInstanceOf(PolicyException.class);
    store.delete("VirtualService", "bookinfo", "reviews", false);
    store.delete("DestinationRule", "bookinfo", "reviews", false);
    store.delete("Workload", "bookinfo", "reviews-1", false);
    store.delete("Service", "bookinfo", "reviews", false);
    assertThat(store.current().service("reviews.bookinfo")).isNull();
    assertThat(store.current().service("reviews.shop")).isNotNull();
    assertThat(store.current().service("reviews")).isNotNull();
  }
}
