package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * EnvoyFilter patches on translated resources: each applyTo and operation, by context and port, and which proxies'
 * EnvoyFilters apply (labels, namespace, root namespace, priority); the patched resources are what the data plane
 * accepts.
 */
class EnvoyFilterPatchesTest {
  private static final String RATE_LIMIT_FILTER = """
      name: envoy.filters.http.ratelimit
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
        domain: ratelimit
        failure_mode_deny: true
        timeout: 2s
        rate_limit_service:
          grpc_service: { envoy_grpc: { cluster_name: rate_limit_cluster } }
          transport_api_version: V3
      """;

  /** A CLUSTER ADD of the rate limit service's cluster, as Istio's recipe writes it. */
  static final String RATE_LIMIT_CLUSTER = """
      configPatches:
      - applyTo: CLUSTER
        patch:
          operation: ADD
          value:
            name: rate_limit_cluster
            type: STATIC
            connect_timeout: 1s
            http2_protocol_options: {}
            load_assignment:
              cluster_name: rate_limit_cluster
              endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } } } ] } ]
      """;

  /** A network RBAC filter in front of the outbound connection manager: Keelson's data plane refuses it there. */
  static final String OUTBOUND_NETWORK_RBAC = """
      configPatches:
      - applyTo: NETWORK_FILTER
        match: { context: SIDECAR_OUTBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
        patch:
          operation: INSERT_FIRST
          value:
            name: envoy.filters.network.rbac
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC, stat_prefix: x }
      """;

  /** A ServiceEntry host with a cluster per port (istiod's names: outbound|PORT||api.example.com). */
  private static final String API_SERVICE_ENTRY = """
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [ api.example.com ]
        resolution: DNS
        ports: [ { number: 80, name: http, protocol: HTTP }, { number: 443, name: https, protocol: HTTPS } ]
      """;

  /** A sidecar's shared translation plus an inbound listener (inline routes to inbound|app) on 15006. */
  private static MeshResources sidecar() throws Exception {
    MeshResources shared = Mesh.translateWithRegistry("");
    List<Listener> listeners = new ArrayList<>(shared.listeners());
    listeners.add(MeshMtls.listener(15006, Authz.MtlsMode.DISABLE,
        List.of(MeshMtls.httpToApp(MeshMtls.APP_CLUSTER, List.of()))));
    List<Cluster> clusters = new ArrayList<>(shared.clusters());
    clusters.add(Cluster.newBuilder().setName(MeshMtls.APP_CLUSTER).setType(Cluster.DiscoveryType.STATIC).build());
    return shared.withListenersAndClusters(listeners, clusters);
  }

  private static Policy.EnvoyFilter filter(String spec) throws Exception {
    return filter("ef", "shop", spec);
  }

  static Policy.EnvoyFilter filter(String name, String namespace, String spec) throws Exception {
    return (Policy.EnvoyFilter) PolicyParser.parse("ef.yaml", """
        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: { name: %s, namespace: %s }
        spec:
        %s""".formatted(name, namespace, spec.stripIndent().indent(2))).policies().getFirst();
  }

  private static MeshResources apply(MeshResources r, String spec) throws Exception {
    return EnvoyFilterPatches.apply(r, List.of(filter(spec)), false);
  }

  private static HttpConnectionManager hcm(MeshResources r, String listener) throws Exception {
    Listener l = r.listeners().stream().filter(x -> x.getName().equals(listener)).findFirst().orElseThrow();
    return l.getFilterChains(0).getFiltersList().stream().filter(f -> f.getName().equals(EnvoyFilterPatches.HCM))
        .findFirst().orElseThrow().getTypedConfig().unpack(HttpConnectionManager.class);
  }

  private static List<String> httpFilters(MeshResources r, String listener) throws Exception {
    return hcm(r, listener).getHttpFiltersList().stream().map(HttpFilter::getName).toList();
  }

  static String insert(String op, String context, String subFilter) {
    return """
        configPatches:
        - applyTo: HTTP_FILTER
          match:
            context: %s
            listener:
              filterChain:
                filter:
                  name: envoy.filters.network.http_connection_manager
                  subFilter: { name: %s }
          patch:
            operation: %s
            value:
        %s""".formatted(context, subFilter, op, RATE_LIMIT_FILTER.indent(6));
  }

  @Test
  void insertsTheRateLimitFilterBeforeTheRouterOfTheMatchedContextOnly() throws Exception {
    MeshResources r = sidecar();
    MeshResources outbound = apply(r, insert("INSERT_BEFORE", "SIDECAR_OUTBOUND", "envoy.filters.http.router"));
    assertThat(httpFilters(outbound, MeshTranslator.OUTBOUND)).containsExactly("envoy.filters.http.cors",
        "envoy.filters.http.fault", "envoy.filters.http.ratelimit", "envoy.filters.http.router");
    assertThat(httpFilters(outbound, MeshMtls.INBOUND)).containsExactly("envoy.filters.http.router");
    assertThat(outbound.routesVersion()).as("routes untouched").isEqualTo(r.routesVersion());
    assertThat(outbound.clustersVersion()).isEqualTo(r.clustersVersion());
    assertThat(outbound.listenersVersion()).isNotEqualTo(r.listenersVersion());

    MeshResources inbound = apply(r, insert("INSERT_BEFORE", "SIDECAR_INBOUND", "envoy.filters.http.router"));
    assertThat(httpFilters(inbound, MeshMtls.INBOUND)).containsExactly("envoy.filters.http.ratelimit",
        "envoy.filters.http.router");
    assertThat(httpFilters(inbound, MeshTranslator.OUTBOUND)).doesNotContain("envoy.filters.http.ratelimit");
    assertThat(EnvoyFilterPatches.apply(r, List.of(filter(insert("INSERT_BEFORE", "GATEWAY",
        "envoy.filters.http.router"))), false).listenersVersion()).as("GATEWAY on a sidecar").isEqualTo(
        r.listenersVersion());
    assertThat(httpFilters(EnvoyFilterPatches.apply(r, List.of(filter(insert("INSERT_BEFORE", "GATEWAY",
        "envoy.filters.http.router"))), true), MeshTranslator.OUTBOUND)).as("GATEWAY on a gateway")
        .contains("envoy.filters.http.ratelimit");
  }

  @Test
  void insertAfterFirstAddReplaceAndRemoveHttpFilters() throws Exception {
    MeshResources r = sidecar();
    assertThat(httpFilters(apply(r, insert("INSERT_AFTER", "SIDECAR_OUTBOUND", "envoy.filters.http.cors")),
        MeshTranslator.OUTBOUND)).containsExactly("envoy.filters.http.cors", "envoy.filters.http.ratelimit",
        "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(httpFilters(apply(r, insert("INSERT_FIRST", "ANY", "envoy.filters.http.router")),
        MeshTranslator.OUTBOUND)).first().isEqualTo("envoy.filters.http.ratelimit");
    assertThat(httpFilters(apply(r, insert("ADD", "ANY", "envoy.filters.http.router")), MeshTranslator.OUTBOUND))
        .last().isEqualTo("envoy.filters.http.ratelimit");
    assertThat(httpFilters(apply(r, insert("REPLACE", "ANY", "envoy.filters.http.fault")), MeshTranslator.OUTBOUND))
        .containsExactly("envoy.filters.http.cors", "envoy.filters.http.ratelimit", "envoy.filters.http.router");
    assertThat(httpFilters(apply(r, insert("INSERT_BEFORE", "ANY", "envoy.filters.http.no-such")),
        MeshTranslator.OUTBOUND)).as("no anchor: not inserted").doesNotContain("envoy.filters.http.ratelimit");
    MeshResources removed = apply(r, """
        configPatches:
        - applyTo: HTTP_FILTER
          match:
            context: SIDECAR_OUTBOUND
            listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager,
                                                  subFilter: { name: envoy.filters.http.fault } } } }
          patch: { operation: REMOVE }
        """);
    assertThat(httpFilters(removed, MeshTranslator.OUTBOUND)).containsExactly("envoy.filters.http.cors",
        "envoy.filters.http.router");
  }

  @Test
  void mergeMergesInsideTheFiltersTypedConfig() throws Exception {
    MeshResources r = apply(sidecar(), insert("INSERT_BEFORE", "ANY", "envoy.filters.http.router"));
    MeshResources merged = EnvoyFilterPatches.apply(r, List.of(filter("""
        configPatches:
        - applyTo: HTTP_FILTER
          match:
            listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager,
                                                  subFilter: { name: envoy.filters.http.ratelimit } } } }
          patch:
            operation: MERGE
            value:
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
                domain: other
        """)), false);
    RateLimit rl = hcm(merged, MeshTranslator.OUTBOUND).getHttpFiltersList().stream()
        .filter(f -> f.getName().equals("envoy.filters.http.ratelimit")).findFirst().orElseThrow()
        .getTypedConfig().unpack(RateLimit.class);
    assertThat(rl.getDomain()).isEqualTo("other");
    assertThat(rl.getFailureModeDeny()).as("kept from the inserted config").isTrue();
    assertThat(rl.getRateLimitService().getGrpcService().getEnvoyGrpc().getClusterName())
        .isEqualTo("rate_limit_cluster");
  }

  @Test
  void networkFiltersByPortAndName() throws Exception {
    MeshResources r = sidecar();
    String rbac = """
        configPatches:
        - applyTo: NETWORK_FILTER
          match:
            listener:
              portNumber: %d
              filterChain: { filter: { name: envoy.filters.network.http_connection_manager } }
          patch:
            operation: INSERT_BEFORE
            value:
              name: envoy.filters.network.rbac
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
                stat_prefix: patched
                rules: { action: DENY, policies: { all: { permissions: [ { any: true } ], principals: [ { any: true } ] } } }
        """;
    MeshResources patched = apply(r, rbac.formatted(15006));
    assertThat(filterNames(patched, MeshMtls.INBOUND)).containsExactly("envoy.filters.network.rbac",
        EnvoyFilterPatches.HCM);
    assertThat(filterNames(patched, MeshTranslator.OUTBOUND)).as("other port").containsExactly(EnvoyFilterPatches.HCM);
    assertThat(apply(r, rbac.formatted(9999)).listenersVersion()).isEqualTo(r.listenersVersion());
    // (the data plane runs network RBAC in front of tcp_proxy only: this one is refused by XdsServer per proxy)
  }

  private static List<String> filterNames(MeshResources r, String listener) {
    return r.listeners().stream().filter(x -> x.getName().equals(listener)).findFirst().orElseThrow()
        .getFilterChains(0).getFiltersList().stream().map(Filter::getName).toList();
  }

  @Test
  void clustersAddMergeAndRemove() throws Exception {
    MeshResources r = sidecar();
    MeshResources patched = apply(r, RATE_LIMIT_CLUSTER + """
        - applyTo: CLUSTER
          match: { cluster: { service: product-service.default.svc.cluster.local } }
          patch:
            operation: MERGE
            value: { connect_timeout: 7s }
        """);
    assertThat(Mesh.cluster(patched, "rate_limit_cluster").getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(Mesh.cluster(patched, "product-service").getConnectTimeout().getSeconds()).isEqualTo(7);
    assertThat(Mesh.cluster(patched, "product-service").getType()).as("merged, not replaced")
        .isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(patched.listenersVersion()).isEqualTo(r.listenersVersion());
    MeshResources removed = apply(r, """
        configPatches:
        - applyTo: CLUSTER
          match: { context: SIDECAR_INBOUND }
          patch: { operation: REMOVE }
        """);
    assertThat(removed.clusters()).extracting(Cluster::getName).doesNotContain(MeshMtls.APP_CLUSTER)
        .contains("product-service");
  }

  /** A ServiceEntry host is matched whole, and its per-port clusters by portNumber. */
  @Test
  void clusterMatchByServiceEntryHostAndPortNumber() throws Exception {
    MeshResources r = Mesh.translateWithRegistry(API_SERVICE_ENTRY);
    MeshResources patched = apply(r, """
        configPatches:
        - applyTo: CLUSTER
          match: { cluster: { service: api.example.com, portNumber: 443 } }
          patch:
            operation: MERGE
            value: { connect_timeout: 7s }
        """);
    assertThat(Mesh.cluster(patched, "outbound|443||api.example.com").getConnectTimeout().getSeconds()).isEqualTo(7);
    assertThat(Mesh.cluster(patched, "outbound|80||api.example.com").getConnectTimeout().getSeconds())
        .as("another port's cluster").isNotEqualTo(7);
    assertThat(Mesh.cluster(patched, "product-service").getConnectTimeout().getSeconds()).isNotEqualTo(7);
    // A registry Service has one cluster for all its ports: portNumber matches it whatever the port.
    MeshResources registry = apply(r, """
        configPatches:
        - applyTo: CLUSTER
          match: { cluster: { service: product-service.default.svc.cluster.local, portNumber: 1234 } }
          patch:
            operation: MERGE
            value: { connect_timeout: 7s }
        """);
    assertThat(Mesh.cluster(registry, "product-service").getConnectTimeout().getSeconds()).isEqualTo(7);
    assertThat(Mesh.cluster(registry, "outbound|443||api.example.com").getConnectTimeout().getSeconds())
        .isNotEqualTo(7);
    assertThat(Mesh.dataPlane(patched)).as("the data plane takes it").isNotNull();
  }

  @Test
  void virtualHostMergeAddsRateLimitsToRdsAndInlineRouteConfigurations() throws Exception {
    MeshResources r = sidecar();
    String merge = """
        configPatches:
        - applyTo: VIRTUAL_HOST
          match:
            context: %s
            routeConfiguration: { vhost: { name: "", route: { action: ANY } } }
          patch:
            operation: MERGE
            value:
              rate_limits:
              - actions: [ { request_headers: { header_name: ":path", descriptor_key: PATH } } ]
        """;
    MeshResources outbound = apply(r, merge.formatted("SIDECAR_OUTBOUND"));
    VirtualHost vh = outbound.routes().getFirst().getVirtualHosts(0);
    assertThat(vh.getRateLimitsCount()).isEqualTo(1);
    assertThat(vh.getRoutesCount()).as("merged, routes kept").isPositive();
    assertThat(hcm(outbound, MeshMtls.INBOUND).getRouteConfig().getVirtualHosts(0).getRateLimitsCount()).isZero();

    MeshResources inbound = apply(r, merge.formatted("SIDECAR_INBOUND"));
    assertThat(inbound.routesVersion()).isEqualTo(r.routesVersion());
    VirtualHost app = hcm(inbound, MeshMtls.INBOUND).getRouteConfig().getVirtualHosts(0);
    assertThat(app.getRateLimits(0).getActions(0).getRequestHeaders().getDescriptorKey()).isEqualTo("PATH");
    assertThat(app.getRoutes(0).getRoute().getCluster()).isEqualTo(MeshMtls.APP_CLUSTER);

    MeshResources byName = apply(r, """
        configPatches:
        - applyTo: VIRTUAL_HOST
          match: { routeConfiguration: { name: outbound, vhost: { name: no-such-host } } }
          patch: { operation: MERGE, value: { rate_limits: [ { actions: [ { generic_key: { descriptor_value: x } } ] } ] } }
        """);
    assertThat(byName.routesVersion()).as("no such virtual host").isEqualTo(r.routesVersion());
  }

  @Test
  void routeConfigurationVirtualHostAndRoutePatches() throws Exception {
    MeshResources r = sidecar();
    MeshResources patched = apply(r, """
        configPatches:
        - applyTo: ROUTE_CONFIGURATION
          match: { context: SIDECAR_OUTBOUND, routeConfiguration: { name: outbound } }
          patch:
            operation: MERGE
            value: { response_headers_to_add: [ { header: { key: x-patched, value: "yes" } } ] }
        - applyTo: VIRTUAL_HOST
          match: { context: SIDECAR_OUTBOUND }
          patch:
            operation: ADD
            value: { name: extra, domains: [ extra.example ], routes: [ { match: { prefix: / }, direct_response: { status: 204 } } ] }
        - applyTo: HTTP_ROUTE
          match: { routeConfiguration: { vhost: { name: extra, route: { action: DIRECT_RESPONSE } } } }
          patch:
            operation: MERGE
            value: { direct_response: { status: 202 } }
        """);
    RouteConfiguration rc = patched.routes().getFirst();
    assertThat(rc.getResponseHeadersToAdd(0).getHeader().getKey()).isEqualTo("x-patched");
    VirtualHost extra = rc.getVirtualHostsList().stream().filter(v -> v.getName().equals("extra")).findFirst()
        .orElseThrow();
    assertThat(extra.getRoutes(0).getDirectResponse().getStatus()).isEqualTo(202);
    Mesh.dataPlane(patched);

    MeshResources removed = apply(r, """
        configPatches:
        - applyTo: VIRTUAL_HOST
          match: { context: SIDECAR_OUTBOUND, routeConfiguration: { vhost: { name: product-service } } }
          patch: { operation: REMOVE }
        """);
    assertThat(removed.routes().getFirst().getVirtualHostsList()).extracting(VirtualHost::getName)
        .doesNotContain("product-service");
    MeshResources routeRemoved = apply(r, """
        configPatches:
        - applyTo: HTTP_ROUTE
          match: { context: SIDECAR_INBOUND }
          patch: { operation: REMOVE }
        """);
    assertThat(hcm(routeRemoved, MeshMtls.INBOUND).getRouteConfig().getVirtualHosts(0).getRoutesCount()).isZero();
  }

  @Test
  void listenerMerge() throws Exception {
    MeshResources patched = apply(sidecar(), """
        configPatches:
        - applyTo: LISTENER
          match: { context: SIDECAR_INBOUND }
          patch: { operation: MERGE, value: { listener_filters_timeout: 3s } }
        """);
    assertThat(patched.listeners()).filteredOn(l -> l.getName().equals(MeshMtls.INBOUND))
        .allMatch(l -> l.getListenerFiltersTimeout().getSeconds() == 3);
    assertThat(patched.listeners()).filteredOn(l -> l.getName().equals(MeshTranslator.OUTBOUND))
        .allMatch(l -> !l.hasListenerFiltersTimeout());
  }

  @Test
  void theRateLimitRecipeIsWhatTheDataPlaneRuns() throws Exception {
    MeshResources r = apply(sidecar(), insert("INSERT_BEFORE", "SIDECAR_INBOUND", "envoy.filters.http.router"));
    r = EnvoyFilterPatches.apply(r, List.of(filter(RATE_LIMIT_CLUSTER + """
        - applyTo: VIRTUAL_HOST
          match: { context: SIDECAR_INBOUND }
          patch:
            operation: MERGE
            value: { rate_limits: [ { actions: [ { generic_key: { descriptor_value: all } } ] } ] }
        """)), false);
    var snapshot = Mesh.dataPlane(r);
    assertThat(snapshot.clusters()).containsKey("rate_limit_cluster");
  }

  @Test
  void anEnvoyFilterWhosePatchedResourcesTheDataPlaneRefusesIsNotAppliedAndSaysWhy() throws Exception {
    Policy.EnvoyFilter bad = filter("bad", "shop", OUTBOUND_NETWORK_RBAC);
    Policy.EnvoyFilter good = filter("good", "shop", insert("INSERT_BEFORE", "SIDECAR_OUTBOUND",
        "envoy.filters.http.router"));
    MeshResources r = sidecar();
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(r, List.of(bad, good), false);
    assertThat(p.applied()).containsExactly("EnvoyFilter/shop/good");
    assertThat(p.refused()).singleElement().asString().startsWith("EnvoyFilter/shop/bad is not applied: Keelson's data"
        + " plane would refuse the patched resources: ").contains("Listener[outbound]").contains("tcp_proxy only");
    assertThat(filterNames(p.resources(), MeshTranslator.OUTBOUND)).containsExactly(EnvoyFilterPatches.HCM);
    assertThat(httpFilters(p.resources(), MeshTranslator.OUTBOUND)).contains("envoy.filters.http.ratelimit");
  }

  @Test
  void aHealthCheckFilterIsAppliedAndAConnectionLimitInFrontOfTheConnectionManagerIsRefusedByField() throws Exception {
    Policy.EnvoyFilter healthCheck = filter("hc", "shop", """
        configPatches:
        - applyTo: HTTP_FILTER
          match:
            context: SIDECAR_INBOUND
            listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager, subFilter: { name: envoy.filters.http.router } } } }
          patch:
            operation: INSERT_BEFORE
            value:
              name: envoy.filters.http.health_check
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck
                pass_through_mode: false
                headers: [ { name: ":path", string_match: { exact: /healthz } } ]
        """);
    Policy.EnvoyFilter connectionLimit = filter("cl", "shop", """
        configPatches:
        - applyTo: NETWORK_FILTER
          match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
          patch:
            operation: INSERT_FIRST
            value:
              name: envoy.filters.network.connection_limit
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
                stat_prefix: inbound
                max_connections: 100
        """);
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(sidecar(), List.of(healthCheck, connectionLimit), false);
    assertThat(p.applied()).containsExactly("EnvoyFilter/shop/hc");
    assertThat(httpFilters(p.resources(), MeshMtls.INBOUND)).containsSubsequence("envoy.filters.http.health_check",
        "envoy.filters.http.router");
    assertThat(Mesh.dataPlane(p.resources()).listeners()).isNotEmpty();
    assertThat(p.refused()).singleElement().asString().startsWith("EnvoyFilter/shop/cl is not applied")
        .contains("envoy.filters.network.connection_limit is supported in front of envoy.filters.network.tcp_proxy only");
  }

  /** An ext_proc filter inserted first on the inbound chain, with its processor's HTTP/2 cluster. */
  private static String extProc(String modeExtra) {
    return """
        configPatches:
        - applyTo: CLUSTER
          patch:
            operation: ADD
            value:
              name: processor
              type: STATIC
              connect_timeout: 1s
              http2_protocol_options: {}
              load_assignment:
                cluster_name: processor
                endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9002 } } } } ] } ]
        - applyTo: HTTP_FILTER
          match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
          patch:
            operation: INSERT_FIRST
            value:
              name: envoy.filters.http.ext_proc
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                grpc_service: { envoy_grpc: { cluster_name: processor } }
                processing_mode: { request_header_mode: SEND, response_header_mode: SKIP %s }
        """.formatted(modeExtra);
  }

  @Test
  void anExternalProcessorIsInsertedAndAModeTheDataPlaneDoesNotRunIsRefused() throws Exception {
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(sidecar(), List.of(filter("proc", "shop", extProc(""))),
        false);
    assertThat(p.applied()).containsExactly("EnvoyFilter/shop/proc");
    assertThat(httpFilters(p.resources(), MeshMtls.INBOUND)).containsExactly("envoy.filters.http.ext_proc",
        "envoy.filters.http.router");
    assertThat(Mesh.dataPlane(p.resources()).clusters()).containsKey("processor");
    EnvoyFilterPatches.Patched body = EnvoyFilterPatches.applyChecked(sidecar(),
        List.of(filter("body", "shop", extProc(", request_body_mode: BUFFERED_PARTIAL"))), false);
    assertThat(body.applied()).isEmpty();
    assertThat(body.refused()).singleElement().asString().startsWith("EnvoyFilter/shop/body is not applied")
        .contains("processing_mode.request_body_mode").contains("expected NONE");
  }

  /** istiod names a registry Service's cluster outbound|PORT||HOST; Keelson's is the Service's name. */
  @Test
  void istiodClusterNamesInAFiltersConfigNameKeelsonsClusters() throws Exception {
    MeshResources r = Mesh.translateWithRegistry(API_SERVICE_ENTRY);
    String istiod = "outbound|80||product-service.default.svc.cluster.local";
    EnvoyFilterPatches.Patched p = EnvoyFilterPatches.applyChecked(r, List.of(filter(insert("INSERT_BEFORE",
        "SIDECAR_OUTBOUND", "envoy.filters.http.router").replace("rate_limit_cluster", istiod))), false);
    assertThat(p.refused()).isEmpty();
    assertThat(rateLimitCluster(p.resources())).isEqualTo("product-service");

    // A ServiceEntry host's cluster is named as istiod names it: kept.
    MeshResources external = apply(r, insert("INSERT_BEFORE", "SIDECAR_OUTBOUND", "envoy.filters.http.router")
        .replace("rate_limit_cluster", "outbound|443||api.example.com"));
    assertThat(rateLimitCluster(external)).isEqualTo("outbound|443||api.example.com");
    // A host that is no registry Service is kept too (the data plane's check then refuses the missing cluster).
    MeshResources unknown = apply(r, insert("INSERT_BEFORE", "SIDECAR_OUTBOUND", "envoy.filters.http.router")
        .replace("rate_limit_cluster", "outbound|80||ratings.default.svc.cluster.local"));
    assertThat(rateLimitCluster(unknown)).isEqualTo("outbound|80||ratings.default.svc.cluster.local");
  }

  private static String rateLimitCluster(MeshResources r) throws Exception {
    return hcm(r, MeshTranslator.OUTBOUND).getHttpFiltersList().stream()
        .filter(h -> h.getName().equals("envoy.filters.http.ratelimit")).findFirst().orElseThrow().getTypedConfig()
        .unpack(RateLimit.class).getRateLimitService().getGrpcService().getEnvoyGrpc().getClusterName();
  }

  @Test
  void selectsByNamespaceRootNamespaceAndLabelsInIstiodsOrder() throws Exception {
    String any = """
        configPatches:
        - applyTo: CLUSTER
          patch: { operation: REMOVE }
        """;
    List<Policy> all = List.of(
        filter("z-root", "istio-system", any),
        filter("a-shop", "shop", any),
        filter("b-shop-product", "shop", "workloadSelector: { labels: { app: product } }\n" + any),
        filter("c-first", "shop", "priority: -1\n" + any),
        filter("other-ns", "bank", any));
    PolicySet state = PolicySet.EMPTY.with(all);
    assertThat(EnvoyFilterPatches.keys(EnvoyFilterPatches.select(state, "shop", Map.of("app", "product"),
        "istio-system"))).containsExactly("EnvoyFilter/shop/c-first", "EnvoyFilter/istio-system/z-root",
        "EnvoyFilter/shop/a-shop", "EnvoyFilter/shop/b-shop-product");
    assertThat(EnvoyFilterPatches.keys(EnvoyFilterPatches.select(state, "shop", Map.of("app", "web"),
        "istio-system"))).containsExactly("EnvoyFilter/shop/c-first", "EnvoyFilter/istio-system/z-root",
        "EnvoyFilter/shop/a-shop");
    assertThat(EnvoyFilterPatches.keys(EnvoyFilterPatches.select(state, "bank", Map.of(), "istio-system")))
        .containsExactly("EnvoyFilter/istio-system/z-root", "EnvoyFilter/bank/other-ns");
  }
}
