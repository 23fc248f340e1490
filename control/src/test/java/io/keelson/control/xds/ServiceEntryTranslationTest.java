package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntry hosts in what sidecars receive (istiod's {@code outbound|<port>||<host>} clusters by resolution, virtual
 * hosts by Host, captured per-port listeners), VirtualServices and DestinationRules on them, the checks against the
 * registry, and the outbound traffic policy (ALLOW_ANY / REGISTRY_ONLY).
 */
class ServiceEntryTranslationTest {
  static final String ENTRIES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [ api.example.com ]
        resolution: STATIC
        ports:
        - { number: 80, name: http, protocol: HTTP }
        - { number: 443, name: https, protocol: HTTPS }
        endpoints:
        - { address: 10.0.0.1, ports: { http: 8080 }, labels: { version: v1 } }
        - { address: 10.0.0.2, ports: { http: 8080 }, labels: { version: v2 }, weight: 5 }
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: weather }
      spec:
        hosts: [ weather.example.com ]
        resolution: DNS
        ports: [ { number: 8080, name: http } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: db }
      spec:
        hosts: [ db.example.com ]
        resolution: DNS_ROUND_ROBIN
        ports: [ { number: 5432, name: tcp, protocol: TCP } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: anything }
      spec:
        hosts: [ passthrough.example.com ]
        resolution: NONE
        ports: [ { number: 9000, name: http } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: api }
      spec:
        host: api.example.com
        trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST }, connectionPool: { tcp: { maxConnections: 7 } } }
        subsets:
        - { name: v1, labels: { version: v1 } }
        - { name: v2, labels: { version: v2 } }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: api }
      spec:
        hosts: [ api.example.com ]
        http:
        - match: [ { headers: { x-version: { exact: v2 } } } ]
          route: [ { destination: { host: api.example.com, subset: v2 } } ]
        - route: [ { destination: { host: api.example.com, subset: v1 } } ]
      """;

  /** A TLS entry host and a VirtualService routing SNI login.example.com on api.example.com's TLS port to it. */
  private static final String EDGE = """
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: edge }
      spec:
        hosts: [ edge.example.com ]
        resolution: DNS
        ports: [ { number: 443, name: tls, protocol: TLS } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: edge }
      spec:
        hosts: [ api.example.com ]
        tls:
        - match: [ { port: 443, sniHosts: [ login.example.com ] } ]
          route: [ { destination: { host: edge.example.com } } ]
      """;

  static PolicyStore store(String yaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("entries.yaml", yaml).policies(), false);
    return store;
  }

  private static Cluster cluster(MeshResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no cluster " + name + " in " + r.clusters().stream().map(Cluster::getName).toList()));
  }

  private static RouteConfiguration routes(MeshResources r, String name) {
    return r.routes().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  static Listener listener(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
  }

  private static VirtualHost vhost(RouteConfiguration rc, String name) {
    return rc.getVirtualHostsList().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no virtual host " + name + " in " + rc.getVirtualHostsList().stream()
            .map(VirtualHost::getName).toList()));
  }

  /** Cluster {@code name}'s ClusterLoadAssignment: its EDS one (resolution STATIC), else its inline one. */
  static io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment assignment(MeshResources r, String name) {
    Cluster c = cluster(r, name);
    if (c.getType() != Cluster.DiscoveryType.EDS) {
      return c.getLoadAssignment();
    }
    assertThat(c.hasLoadAssignment()).isFalse();
    return r.endpoints().stream().filter(a -> a.getClusterName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no ClusterLoadAssignment " + name));
  }

  /** Cluster {@code name}'s endpoints as address:port ({@link #assignment}). */
  static List<String> endpoints(MeshResources r, String name) {
    return assignment(r, name).getEndpointsList().stream().flatMap(l -> l.getLbEndpointsList().stream())
        .map(LbEndpoint::getEndpoint).map(e -> e.getAddress().getSocketAddress().getAddress() + ":"
            + e.getAddress().getSocketAddress().getPortValue()).toList();
  }

  static String tcpCluster(FilterChain chain) throws Exception {
    return chain.getFilters(chain.getFiltersCount() - 1).getTypedConfig().unpack(TcpProxy.class).getCluster();
  }

  @Test
  void entriesBecomeClustersByResolutionAndVirtualHostsWithTheirRoutes() throws Exception {
    MeshResources r = new MeshTranslator(15001, false).translate(store(ENTRIES).current(), List.of());

    Cluster api = cluster(r, "outbound|80||api.example.com");
    assertThat(api.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(api.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue()).isEqualTo(7);
    assertThat(api.hasTransportSocket()).isFalse(); // MESH_EXTERNAL: never mesh mTLS
    assertThat(api.getType()).isEqualTo(Cluster.DiscoveryType.EDS); // as istiod: STATIC endpoints over EDS
    assertThat(endpoints(r, "outbound|80||api.example.com")).containsExactly("10.0.0.1:8080", "10.0.0.2:8080");
    assertThat(assignment(r, "outbound|80||api.example.com").getEndpoints(0).getLbEndpoints(1).getLoadBalancingWeight().getValue()).isEqualTo(5);
    assertThat(endpoints(r, "outbound|80|v2|api.example.com")).containsExactly("10.0.0.2:8080");
    assertThat(endpoints(r, "outbound|443||api.example.com")).containsExactly("10.0.0.1:443", "10.0.0.2:443");
    Cluster weather = cluster(r, "outbound|8080||weather.example.com");
    assertThat(weather.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(endpoints(r, "outbound|8080||weather.example.com")).containsExactly("weather.example.com:8080");
    Cluster db = cluster(r, "outbound|5432||db.example.com");
    assertThat(db.getType()).isEqualTo(Cluster.DiscoveryType.LOGICAL_DNS);
    Cluster any = cluster(r, "outbound|9000||passthrough.example.com");
    assertThat(any.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
    assertThat(any.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);

    RouteConfiguration outbound = routes(r, MeshTranslator.OUTBOUND);
    VirtualHost vh = vhost(outbound, "api.example.com:80");
    assertThat(vh.getDomainsList()).containsExactly("api.example.com", "api.example.com:80");
    assertThat(vh.getRoutes(0).getRoute().getCluster()).isEqualTo("outbound|80|v2|api.example.com");
    assertThat(vh.getRoutes(0).getMatch().getHeaders(0).getName()).isEqualTo("x-version");
    assertThat(vh.getRoutes(1).getRoute().getCluster()).isEqualTo("outbound|80|v1|api.example.com");
    // explain: the header route to subset v2 of the entry host, its endpoint.
    @SuppressWarnings("unchecked")
    var clusters = (List<java.util.Map<String, Object>>) io.keelson.control.api.ExplainerAccess.explain(r, "frontend",
        "api.example.com", "/x", java.util.Map.of("x-version", "v2"), "GET").get("clusters");
    assertThat(clusters.getFirst()).containsEntry("cluster", "outbound|80|v2|api.example.com")
        .containsEntry("service", "api.example.com").containsEntry("subset", "v2")
        .containsEntry("endpoints", List.of("10.0.0.2:8080"));
    // A port other than 80 is the bare Host's when it is the entry's only HTTP port.
    assertThat(vhost(outbound, "weather.example.com:8080").getDomainsList())
        .containsExactly("weather.example.com", "weather.example.com:8080");
    assertThat(vhost(outbound, "weather.example.com:8080").getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|8080||weather.example.com");
    // TLS and TCP ports are not HTTP; NONE needs the original destination, which only capture gives.
    assertThat(outbound.getVirtualHostsList()).extracting(VirtualHost::getName)
        .containsExactly("frontend", "api.example.com:80", "weather.example.com:8080");
  }

  /**
   * Istio's wildcard egress entries (resolution NONE): a captured sidecar's TLS port gets a chain selected by the
   * wildcard SNI to the entry's ORIGINAL_DST cluster before the exact names' chains fall through to the passthrough, its
   * HTTP port a virtual host with the wildcard domain; the data plane takes all of it.
   */
  @Test
  void wildcardEntriesGetWildcardSniChainsAndVirtualHostsToTheirOriginalDestination() throws Exception {
    MeshResources r = new MeshTranslator(15001, false, true).translate(store("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: frontend }
        spec:
          ports: [ { name: http, port: 80 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: wiki }
        spec:
          hosts: [ "*.wikipedia.org" ]
          location: MESH_EXTERNAL
          resolution: NONE
          ports: [ { number: 443, name: tls, protocol: TLS }, { number: 80, name: http, protocol: HTTP } ]
        """).current(), List.of());
    Cluster wiki = cluster(r, "outbound|443||*.wikipedia.org");
    assertThat(wiki.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
    Listener tls = listener(r, "0.0.0.0_443");
    assertThat(tls.getFilterChains(0).getFilterChainMatch().getServerNamesList()).containsExactly("*.wikipedia.org");
    assertThat(tcpCluster(tls.getFilterChains(0))).isEqualTo("outbound|443||*.wikipedia.org");
    assertThat(vhost(routes(r, "80"), "*.wikipedia.org:80").getDomainsList()).contains("*.wikipedia.org");
    assertThat(vhost(routes(r, "80"), "*.wikipedia.org:80").getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|80||*.wikipedia.org");

    io.keelson.dataplane.config.ProxySnapshot s = Mesh.dataPlane(r); // the data plane takes wildcard names and clusters
    assertThat(s.clusters()).containsKey("outbound|443||*.wikipedia.org");
  }

  @Test
  void aCapturedSidecarGetsTheEntriesPortListenersAndRouteConfigurations() throws Exception {
    MeshResources r = new MeshTranslator(15001, false, true).translate(store(ENTRIES).current(), List.of());

    RouteConfiguration port80 = routes(r, "80");
    assertThat(port80.getVirtualHostsList()).extracting(VirtualHost::getName)
        .containsExactly("frontend", "api.example.com:80", CapturedListeners.ALLOW_ANY);
    assertThat(vhost(routes(r, "9000"), "passthrough.example.com:9000").getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|9000||passthrough.example.com");

    Listener db = listener(r, "0.0.0.0_5432");
    assertThat(db.getBindToPort().getValue()).isFalse();
    assertThat(tcpCluster(db.getFilterChains(0))).isEqualTo("outbound|5432||db.example.com");

    Listener tls = listener(r, "0.0.0.0_443");
    assertThat(tls.getFilterChains(0).getFilterChainMatch().getServerNamesList()).containsExactly("api.example.com");
    assertThat(tcpCluster(tls.getFilterChains(0))).isEqualTo("outbound|443||api.example.com");
    assertThat(tls.getFilterChains(1).getName()).isEqualTo(CapturedListeners.PASSTHROUGH_CHAIN);
    assertThat(tcpCluster(tls.getFilterChains(1))).isEqualTo(CapturedListeners.PASSTHROUGH);
    assertThat(tcpCluster(listener(r, CapturedListeners.VIRTUAL_OUTBOUND).getFilterChains(0)))
        .isEqualTo(CapturedListeners.PASSTHROUGH);
    assertThat(r.clusters()).extracting(Cluster::getName).doesNotContain(OutboundTrafficPolicy.BLACK_HOLE);
  }

  @Test
  void registryOnlySendsUnknownDestinationsToTheBlackHoleAndUnknownHostsTo502() throws Exception {
    var state = store(ENTRIES).current();
    MeshResources r = new MeshTranslator(15001, false, true, OutboundTrafficPolicy.REGISTRY_ONLY).translate(state, List.of());

    assertThat(tcpCluster(listener(r, CapturedListeners.VIRTUAL_OUTBOUND).getFilterChains(0)))
        .isEqualTo(OutboundTrafficPolicy.BLACK_HOLE);
    Listener tls = listener(r, "0.0.0.0_443");
    assertThat(tcpCluster(tls.getFilterChains(0))).isEqualTo("outbound|443||api.example.com");
    assertThat(tcpCluster(tls.getFilterChains(1))).isEqualTo(OutboundTrafficPolicy.BLACK_HOLE);
    RouteConfiguration port80 = routes(r, "80");
    assertThat(port80.getVirtualHostsList()).extracting(VirtualHost::getName)
        .containsExactly("frontend", "api.example.com:80", OutboundTrafficPolicy.BLOCK_ALL);
    VirtualHost block = vhost(port80, OutboundTrafficPolicy.BLOCK_ALL);
    assertThat(block.getDomainsList()).containsExactly("*");
    assertThat(block.getRoutes(0).getDirectResponse().getStatus()).isEqualTo(502);
    Cluster hole = cluster(r, OutboundTrafficPolicy.BLACK_HOLE);
    assertThat(hole.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(hole.getLoadAssignment().getEndpointsCount()).isZero();

    // A sidecar without capture: 502 for an unknown Host instead of 404 (it cannot pass anything through).
    MeshResources plain = new MeshTranslator(15001, false, false, OutboundTrafficPolicy.REGISTRY_ONLY).translate(state, List.of());
    assertThat(routes(plain, MeshTranslator.OUTBOUND).getVirtualHostsList()).extracting(VirtualHost::getName)
        .endsWith(OutboundTrafficPolicy.BLOCK_ALL);
    MeshResources allowAny = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(routes(allowAny, MeshTranslator.OUTBOUND).getVirtualHostsList()).extracting(VirtualHost::getName)
        .doesNotContain(OutboundTrafficPolicy.BLOCK_ALL);
  }

  @Test
  void aRegistryRouteMayTargetAnEntryHostAndGetsItsPortsCluster() throws Exception {
    PolicyStore store = store(ENTRIES + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: frontend }
        spec:
          hosts: [ frontend ]
          http:
          - route: [ { destination: { host: weather.example.com } } ]
            mirror: { host: api.example.com, subset: v1 }
        """);
    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    var route = vhost(routes(r, MeshTranslator.OUTBOUND), "frontend").getRoutes(0).getRoute();
    assertThat(route.getCluster()).isEqualTo("outbound|8080||weather.example.com");
    assertThat(route.getRequestMirrorPolicies(0).getCluster()).isEqualTo("outbound|80|v1|api.example.com");
  }

  @Test
  void entriesAreCheckedAgainstTheRegistryAndEachOther() throws Exception {
    PolicyStore store = store(ENTRIES);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("more.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: clash }
        spec:
          hosts: [ frontend, api.example.com, pg.example.com ]
          resolution: DNS
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: weather }
        spec:
          hosts: [ weather.example.com ]
          http:
          - route: [ { destination: { host: weather.example.com, port: { number: 9999 } } } ]
        """).policies(), false))
        .isInstanceOf(PolicyException.class)
        .satisfies(e -> assertThat(((PolicyException) e).errors()).extracting(Object::toString).contains( // (and the same clashes seen from api and db)
            "more.yaml: ServiceEntry/clash: spec.hosts[0]: host 'frontend' is the registry's Service/frontend;"
                + " expected a host the registry does not have",
            "more.yaml: ServiceEntry/clash: spec.hosts[1]: host 'api.example.com' is already declared by"
                + " ServiceEntry/api; expected one ServiceEntry per host in a namespace",
            "more.yaml: ServiceEntry/clash: spec.ports[0].number: port 5432 (TCP) is also the port of its other hosts"
                + " [api.example.com, pg.example.com]; a TCP port must be the only host's on its number and a TLS port"
                + " shares it only with TLS ports (a captured sidecar tells hosts apart by Host or SNI, and TCP entries"
                + " by their addresses); expected another port number, or addresses on both TCP entries, or one host per"
                + " ServiceEntry",
            "more.yaml: VirtualService/weather: spec.http[0].route[0].destination.port.number: service"
                + " 'weather.example.com' has no port 9999; expected one of [8080]"));
    // A registry Service's tcp rule cannot route to an entry host yet.
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("tcp.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: cache }
        spec:
          ports: [ { name: tcp, port: 6379 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: cache }
        spec:
          hosts: [ cache ]
          tcp: [ { route: [ { destination: { host: db.example.com } } ] } ]
        """).policies(), false))
        .hasMessageContaining("spec.tcp[0].route[0].destination.host: 'db.example.com' is a ServiceEntry host; a tcp or"
            + " tls rule of a registry Service cannot route to one yet");
    // An unknown host is still refused, naming both ways to declare it.
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: nowhere }
        spec:
          hosts: [ nowhere.example.com ]
          http: [ { route: [ { destination: { host: nowhere.example.com } } ] } ]
        """).policies(), false))
        .hasMessageContaining("spec.hosts[0]: no Service 'nowhere.example.com' is registered and no ServiceEntry"
            + " declares it");
  }

  @Test
  void aDestinationRuleTlsOriginatesTlsToTheEntrysHttpPortsOnly() throws Exception {
    PolicyStore store = store(ENTRIES.replace("connectionPool: { tcp: { maxConnections: 7 } } }",
        "connectionPool: { tcp: { maxConnections: 7 } }, tls: { mode: SIMPLE } }"));
    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    var socket = cluster(r, "outbound|80|v1|api.example.com").getTransportSocket();
    var tls = socket.getTypedConfig().unpack(
        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class);
    assertThat(tls.getSni()).isEqualTo("api.example.com");
    var validation = tls.getCommonTlsContext().getValidationContext();
    assertThat(validation.getTrustedCa().getFilename()).isEqualTo(ServiceEntryTranslator.SYSTEM_ROOTS);
    assertThat(validation.getMatchTypedSubjectAltNames(0).getMatcher().getExact()).isEqualTo("api.example.com");
    // The HTTPS port: the app's own TLS, not wrapped again.
    assertThat(cluster(r, "outbound|443||api.example.com").hasTransportSocket()).isFalse();

    assertThatThrownBy(() -> store.apply(PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: frontend }
        spec:
          host: frontend
          trafficPolicy: { tls: { mode: SIMPLE } }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: anything }
        spec:
          host: passthrough.example.com
          trafficPolicy: { tls: { mode: SIMPLE } }
        """).policies(), false))
        .satisfies(e -> assertThat(((PolicyException) e).errors()).extracting(Object::toString).containsExactlyInAnyOrder(
            "dr.yaml: DestinationRule/frontend: spec.trafficPolicy.tls.mode: 'frontend' is a registry Service, reached"
                + " with mesh mTLS; of the TLS modes it takes ISTIO_MUTUAL (with sni, subjectAltNames) only (yet);"
                + " SIMPLE, MUTUAL and DISABLE apply to ServiceEntry hosts",
            "dr.yaml: DestinationRule/anything: spec.trafficPolicy.tls.mode: ServiceEntry/anything has resolution NONE"
                + " (connections to their original destination), where TLS origination is not supported yet; expected"
                + " resolution STATIC, DNS or DNS_ROUND_ROBIN"));
  }

  @Test
  void entriesSurviveARestartFromTheDataDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    PolicyStore first = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    first.apply(PolicyParser.parse("entries.yaml", ENTRIES).policies(), false);
    PolicyStore again = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    assertThat(again.current().get("ServiceEntry", "api")).isEqualTo(first.current().get("ServiceEntry", "api"));
    assertThat(again.current().ofType(io.keelson.control.policy.Policy.ServiceEntry.class)).hasSize(4);
  }

  @Test
  void tcpAndTlsRulesOfAVirtualServiceOnAnEntryHostRouteItsCapturedConnections() throws Exception {
    PolicyStore store = store(ENTRIES + EDGE + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db.example.com ]
          tcp:
          - route:
            - { destination: { host: db.example.com }, weight: 90 }
            - { destination: { host: pg.example.com }, weight: 10 }
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: pg }
        spec:
          hosts: [ pg.example.com ]
          resolution: DNS
          ports: [ { number: 15432, name: tcp, protocol: TCP } ]
        """);
    MeshResources r = new MeshTranslator(15001, false, true).translate(store.current(), List.of());
    Listener tls = listener(r, "0.0.0.0_443");
    assertThat(tls.getFilterChainsList()).extracting(c -> String.join(",", c.getFilterChainMatch().getServerNamesList()))
        .containsExactly("login.example.com", "api.example.com", "edge.example.com", "");
    assertThat(tcpCluster(tls.getFilterChains(0))).isEqualTo("outbound|443||edge.example.com");
    var weighted = listener(r, "0.0.0.0_5432").getFilterChains(0).getFilters(0).getTypedConfig().unpack(TcpProxy.class)
        .getWeightedClusters();
    assertThat(weighted.getClustersList()).extracting(c -> c.getName() + "=" + c.getWeight())
        .containsExactly("outbound|5432||db.example.com=90", "outbound|15432||pg.example.com=10");
  }

  @Test
  void anEntrysHttp2AndGrpcPortsSpeakHttp2UpstreamAndEveryClusterGetsTheDefaultCircuitBreakers() throws Exception {
    var state = store(ENTRIES + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: grpc }
        spec:
          hosts: [ grpc.example.com ]
          resolution: DNS
          ports:
          - { number: 9090, name: grpc, protocol: GRPC }
          - { number: 9091, name: h2, protocol: HTTP2 }
          - { number: 9092, name: http, protocol: HTTP }
          - { number: 9093, name: tcp, protocol: TCP }
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: original }
        spec:
          hosts: [ original.example.com ]
          resolution: NONE
          ports: [ { number: 7000, name: grpc, protocol: GRPC } ]
        """).current();
    MeshResources r = new MeshTranslator(15001, false, true).translate(state, List.of());
    for (String h2 : List.of("outbound|9090||grpc.example.com", "outbound|9091||grpc.example.com",
        "outbound|7000||original.example.com")) {
      assertThat(cluster(r, h2).getTypedExtensionProtocolOptionsMap()).as(h2).containsKey(UpstreamProtocols.OPTIONS);
      assertThat(cluster(r, h2).getTypedExtensionProtocolOptionsOrThrow(UpstreamProtocols.OPTIONS)
          .unpack(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class)
          .getExplicitHttpConfig().hasHttp2ProtocolOptions()).as(h2).isTrue();
    }
    for (String h1 : List.of("outbound|9092||grpc.example.com", "outbound|9093||grpc.example.com",
        "outbound|80||api.example.com")) {
      assertThat(cluster(r, h1).getTypedExtensionProtocolOptionsMap()).as(h1).isEmpty();
    }
    // istiod's default thresholds on every cluster but the black hole: registry, entries of every resolution
    // (NONE's too), the passthrough clusters.
    for (Cluster c : r.clusters()) {
      assertThat(c.getCircuitBreakers().getThresholdsList()).as(c.getName()).hasSize(1);
      var t = c.getCircuitBreakers().getThresholds(0);
      assertThat(t.getMaxRequests().getValue()).as(c.getName()).isEqualTo(ResilienceBuilder.UNLIMITED);
      assertThat(t.getMaxConnections().getValue()).as(c.getName())
          .isEqualTo(c.getName().endsWith("|api.example.com") ? 7 : ResilienceBuilder.UNLIMITED); // its rule's limit
    }
    assertThat(r.clusters()).extracting(Cluster::getName).contains("outbound|9000||passthrough.example.com",
        "outbound|7000||original.example.com", "outbound|5432||db.example.com", CapturedListeners.PASSTHROUGH,
        CapturedListeners.INBOUND_PASSTHROUGH);
    // A captured sidecar's own app cluster too, and the data plane takes it all.
    var self = new MeshTranslator.Self(null, 15006, 8080, java.util.Map.of(), false,
        new NodeRegistration.Capture("10.1.0.9", 8080, 15006, 15001), "frontend");
    MeshResources withApp = MeshTranslator.withInbound(r, state, self, ExtAuthzClusters.NONE);
    assertThat(cluster(withApp, CapturedListeners.appCluster(8080)).getCircuitBreakers().getThresholds(0)
        .getMaxRequests().getValue()).isEqualTo(ResilienceBuilder.UNLIMITED);
    java.util.Map<String, RouteConfiguration> routes = new java.util.LinkedHashMap<>();
    withApp.routes().forEach(rc -> routes.put(rc.getName(), rc));
    var snapshot = io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("test",
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), withApp.listeners(),
        routes, withApp.clusters(), withApp.endpoints().stream().collect(java.util.stream.Collectors.toMap(
            e -> e.getClusterName(), e -> e)));
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(snapshot.clusters()).containsKeys("outbound|9090||grpc.example.com", "outbound|7000||original.example.com");
  }

  @Test
  void everyTlsRuleOfAnEntryHostGetsItsSniChainNotOnlyTheFirst() throws Exception {
    PolicyStore store = store(ENTRIES + EDGE + """
        # (continues EDGE's VirtualService: a second tls rule)
          - match: [ { port: 443, sniHosts: [ pay.example.com ] } ]
            route: [ { destination: { host: api.example.com } } ]
        """);
    MeshResources r = new MeshTranslator(15001, false, true).translate(store.current(), List.of());
    Listener tls = listener(r, "0.0.0.0_443");
    assertThat(tls.getFilterChainsList()).extracting(c -> String.join(",", c.getFilterChainMatch().getServerNamesList()))
        .containsExactly("login.example.com", "pay.example.com", "api.example.com", "edge.example.com", "");
    assertThat(tcpCluster(tls.getFilterChains(0))).isEqualTo("outbound|443||edge.example.com");
    assertThat(tcpCluster(tls.getFilterChains(1))).as("the second rule's, as a registry service's second rule")
        .isEqualTo("outbound|443||api.example.com");
  }

  @Test
  void theDataPlaneAcceptsWhatEntriesBecomeForPlainAndCapturedSidecarsInBothModes(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path ca = new io.keelson.dataplane.testing.TestCa("ca").write(dir, "ca.pem");
    var state = store(ENTRIES.replace("connectionPool: { tcp: { maxConnections: 7 } } }",
        "connectionPool: { tcp: { maxConnections: 7 } }, tls: { mode: SIMPLE, caCertificates: " + ca + " } }")).current();
    for (boolean captured : new boolean[] {false, true}) {
      for (OutboundTrafficPolicy mode : OutboundTrafficPolicy.values()) {
        MeshResources r = new MeshTranslator(15001, false, captured, mode).translate(state, List.of());
        java.util.Map<String, RouteConfiguration> routes = new java.util.LinkedHashMap<>();
        r.routes().forEach(rc -> routes.put(rc.getName(), rc));
        java.util.Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints =
            new java.util.LinkedHashMap<>();
        r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
        var snapshot = io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("test",
            io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(), routes,
            r.clusters(), endpoints);
        assertThat(snapshot.warnings()).as(captured + " " + mode).isEmpty();
        assertThat(snapshot.clusters()).as(captured + " " + mode).containsKeys("outbound|80|v2|api.example.com",
            "outbound|5432||db.example.com", "outbound|9000||passthrough.example.com");
      }
    }
  }
}
