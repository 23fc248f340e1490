package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which AuthorizationPolicies and RequestAuthentications a gateway gets (istiod's selection: the root namespace's and
 * its own namespace's without a selector, its namespace's whose selector its labels include) and where their filters
 * go: every connection manager (before CORS, fault and the router) and every tcp_proxy chain (CUSTOM's shadow network
 * RBAC and network ext_authz, or DENY-all for an undefined provider, then network RBAC, ALLOW rules with HTTP fields
 * dropped).
 */
class GatewayPoliciesTest {
  private static final Map<String, String> LABELS = Map.of("istio", "ingressgateway", "app", "edge");

  private static final String MESH = Mesh.registry(9001, 9002) + """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: tcp-echo }
      spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-ingress }
      spec:
        selector: { istio: ingressgateway }
        servers:
        - port: { number: 80, name: http, protocol: HTTP }
          hosts: [ shop.example.com ]
        - port: { number: 9000, name: tcp, protocol: TCP }
          hosts: [ "*" ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: shop }
      spec:
        hosts: [ shop.example.com ]
        gateways: [ istio-ingress/ingress ]
        http: [ { route: [ { destination: { host: product-service } } ] } ]
        tcp: [ { match: [ { port: 9000 } ], route: [ { destination: { host: tcp-echo } } ] } ]
      """;

  private static String deny(String namespace, String name, String selector) {
    return """
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: %s, namespace: %s }
        spec:
          %s
          action: DENY
          rules: [ { to: [ { operation: { paths: [ "/%s" ] } } ] } ]
        """.formatted(name, namespace, selector == null ? "" : "selector: { matchLabels: { " + selector + " } }", name);
  }

  private static PolicySet state(String yaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store.current();
  }

  private static MeshResources gateway(PolicySet state) {
    return GatewayPolicies.apply(GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
        state, LABELS, "0.0.0.0", null, false), state, LABELS, "istio-ingress", ExtAuthzClusters.NONE);
  }

  private static Listener listener(MeshResources r, int port) {
    return r.listeners().stream().filter(l -> l.getName().equals("0.0.0.0_" + port)).findFirst().orElseThrow();
  }

  private static HttpConnectionManager hcm(Listener l) throws Exception {
    return l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
  }

  private static io.envoyproxy.envoy.config.rbac.v3.RBAC httpRbac(HttpConnectionManager hcm, String name)
      throws Exception {
    HttpFilter f = hcm.getHttpFiltersList().stream().filter(x -> x.getName().equals(name)).findFirst().orElseThrow();
    return f.getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules();
  }

  @Test
  void selectsTheRootNamespacesAndItsOwnNamespacesPoliciesAndThoseWhoseSelectorItsLabelsInclude() throws Exception {
    PolicySet state = state(MESH
        + deny("istio-system", "root-wide", null)
        + deny("istio-ingress", "own-namespace", null)
        + deny("istio-ingress", "own-selected", "istio: ingressgateway")
        + deny("istio-ingress", "own-other-gateway", "istio: eastwestgateway")
        + deny("istio-ingress", "own-partly-matching", "istio: ingressgateway, app: other")
        + deny("shop", "other-namespace", null)
        + deny("shop", "other-namespace-selected", "app: edge"));
    HttpConnectionManager hcm = hcm(listener(gateway(state), 80));
    assertThat(httpRbac(hcm, "envoy.filters.http.rbac").getPoliciesMap().keySet()).containsExactlyInAnyOrder(
        "ns[istio-system]-policy[root-wide]-rule[0]", "ns[istio-ingress]-policy[own-namespace]-rule[0]",
        "ns[istio-ingress]-policy[own-selected]-rule[0]");
    assertThat(hcm.getHttpFiltersList()).extracting(HttpFilter::getName).containsExactly("envoy.filters.http.rbac",
        "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router");
  }

  @Test
  void noPolicyForTheGatewayLeavesItsResourcesAsTheyAre() throws Exception {
    PolicySet state = state(MESH + deny("istio-ingress", "elsewhere", "istio: eastwestgateway")
        + deny("shop", "shop-wide", null));
    MeshResources plain = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
        state, LABELS, "0.0.0.0", null, false);
    assertThat(GatewayPolicies.apply(plain, state, LABELS, "istio-ingress", ExtAuthzClusters.NONE)).isSameAs(plain);
  }

  @Test
  void jwtThenDenyThenAllowOnHttpAndNetworkRbacWithoutHttpOnlyAllowRulesOnTcp() throws Exception {
    PolicySet state = state(MESH + deny("istio-ingress", "admin", "istio: ingressgateway") + """
        ---
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: { name: idp, namespace: istio-system }
        spec:
          jwtRules: [ { issuer: "https://idp.example", jwks: '{"keys":[]}' } ]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: users, namespace: istio-ingress }
        spec:
          action: ALLOW
          rules:
          - from: [ { source: { requestPrincipals: [ "*" ] } } ]
          - from: [ { source: { ipBlocks: [ 10.0.0.0/8 ] } } ]
        """);
    MeshResources r = gateway(state);
    HttpConnectionManager hcm = hcm(listener(r, 80));
    assertThat(hcm.getHttpFiltersList()).extracting(HttpFilter::getName).containsExactly(
        "envoy.filters.http.jwt_authn", "envoy.filters.http.rbac", "envoy.filters.http.rbac.allow",
        "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(httpRbac(hcm, "envoy.filters.http.rbac.allow").getPoliciesMap()).hasSize(2);

    List<Filter> tcp = listener(r, 9000).getFilterChains(0).getFiltersList();
    assertThat(tcp).extracting(Filter::getName).containsExactly("envoy.filters.network.rbac",
        "envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
    var deny = tcp.get(0).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    var allow = tcp.get(1).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    // DENY with a path: the HTTP field is ignored at L4, so it denies every connection (istiod's wider deny)
    assertThat(deny.getRules().getPoliciesMap()).containsKey("ns[istio-ingress]-policy[admin]-rule[0]");
    assertThat(deny.getRules().getPoliciesMap().values().iterator().next().getPermissions(0).getAny()).isTrue();
    // ALLOW: the requestPrincipals rule cannot match a connection and is dropped; the ipBlocks one stays
    assertThat(allow.getRules().getPoliciesMap().keySet()).containsExactly("ns[istio-ingress]-policy[users]-rule[1]");
  }

  @Test
  void everyChainOfHttpsPassthroughTerminatingAndTcpServersGetsThePoliciesAndTheDataPlaneTakesThem() throws Exception {
    // An ALLOW and a CUSTOM with a gRPC provider: each connection manager gets the HTTP filters, each tcp_proxy chain
    // the network ones (istiod's order: CUSTOM, then ALLOW).
    io.keelson.dataplane.testing.TestCa ca = new io.keelson.dataplane.testing.TestCa("ca");
    var leaf = ca.issue("secure.example.com", "secure.example.com");
    PolicySet state = state(Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: tcp-echo }
        spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: cert, namespace: istio-ingress }
        type: kubernetes.io/tls
        data: { tls.crt: %1$s, tls.key: %2$s }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-ingress }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 443, name: https, protocol: HTTPS }
            hosts: [ secure.example.com ]
            tls: { mode: SIMPLE, credentialName: cert }
          - port: { number: 8443, name: tls, protocol: TLS }
            hosts: [ "*.example.com" ]
            tls: { mode: PASSTHROUGH }
          - port: { number: 9443, name: tls-terminated, protocol: TLS }
            hosts: [ "*" ]
            tls: { mode: SIMPLE, credentialName: cert }
          - port: { number: 9000, name: tcp, protocol: TCP }
            hosts: [ "*" ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ "*.example.com" ]
          gateways: [ istio-ingress/ingress ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
          tls: [ { match: [ { port: 8443, sniHosts: [ app.example.com ] } ], route: [ { destination: { host: tcp-echo } } ] } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: streams }
        spec:
          hosts: [ "*" ]
          gateways: [ istio-ingress/ingress ]
          tcp: [ { route: [ { destination: { host: tcp-echo } } ] } ]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: edge, namespace: istio-ingress }
        spec:
          action: ALLOW
          rules: [ { from: [ { source: { ipBlocks: [ 10.0.0.0/8 ] } } ] } ]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: ext, namespace: istio-ingress }
        spec:
          action: CUSTOM
          provider: { name: authz-grpc }
          rules: [ { from: [ { source: { ipBlocks: [ 192.168.0.0/16 ] } } ] } ]
        """.formatted(GatewayTranslationTest.b64(leaf.certPem()), GatewayTranslationTest.b64(leaf.keyPem())));
    MeshResources r = GatewayPolicies.apply(GatewayTranslator.translate(
        new MeshTranslator(15001, false).translate(state, List.of()), state, LABELS, "0.0.0.0", "istio-ingress", true),
        state, LABELS, "istio-ingress", ExtAuthzClusters.of(PROVIDERS, state, List.of()));
    assertThat(r.listeners()).extracting(Listener::getName).containsExactlyInAnyOrder("0.0.0.0_443", "0.0.0.0_8443",
        "0.0.0.0_9443", "0.0.0.0_9000");
    for (Listener l : r.listeners()) {
      for (var chain : l.getFilterChainsList()) {
        Filter first = chain.getFilters(0);
        if (first.getName().equals("envoy.filters.network.http_connection_manager")) {
          assertThat(first.getTypedConfig().unpack(HttpConnectionManager.class).getHttpFiltersList())
              .extracting(HttpFilter::getName).as(l.getName()).startsWith("envoy.filters.http.rbac.ext_authz",
                  "envoy.filters.http.ext_authz", "envoy.filters.http.rbac");
        } else {
          assertThat(chain.getFiltersList()).extracting(Filter::getName).as(l.getName())
              .containsExactly("envoy.filters.network.rbac", "envoy.filters.network.ext_authz",
                  "envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
        }
      }
    }
    var snapshot = GatewayTranslationTest.dataPlaneTakes(r, state, LABELS, "istio-ingress");
    assertThat(snapshot.warnings()).as("istiod's transport_api_version is the only field not read")
        .allMatch(w -> w.contains("transport_api_version: ignored"));
    assertThat(snapshot.listeners()).hasSize(4);
  }
  /** Keelson's data plane refuses a stateful_session after ext_authz (it picks the endpoint before a check answers). */
  @Test
  void aPersistentSessionGoesAheadOfACustomChecksFiltersAndTheDataPlaneTakesIt() throws Exception {
    PolicySet state = state(PersistentSessionTest.service("istio.io/persistent-session: sid") + PersistentSessionTest.GATEWAY
        + CUSTOM.formatted("authz-grpc"));
    MeshResources r = withProviders(state);
    assertThat(r.listeners().getFirst().getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class)
        .getHttpFiltersList()).extracting(HttpFilter::getName).containsExactly("envoy.filters.http.stateful_session",
            "envoy.filters.http.rbac.ext_authz", "envoy.filters.http.ext_authz", "envoy.filters.http.cors",
            "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(GatewayTranslationTest.dataPlaneTakes(r, state, LABELS, "istio-ingress").listeners()).hasSize(1);
  }

  private static final String CUSTOM = """
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: ext, namespace: istio-ingress }
      spec:
        action: CUSTOM
        provider: { name: %s }
        rules: [ { to: [ { operation: { ports: [ "9000" ] } } ] } ]
      """;

  private static final io.keelson.control.security.ExtensionProviders PROVIDERS =
      io.keelson.control.security.ExtensionProviders.parse("mesh.yaml", """
          extensionProviders:
          - name: authz-grpc
            envoyExtAuthzGrpc: { service: 127.0.0.1, port: 9191, timeout: 2s }
          - name: authz-http
            envoyExtAuthzHttp: { service: 127.0.0.1, port: 9192, timeout: 2s }
          """);

  private static MeshResources withProviders(PolicySet state) {
    return GatewayPolicies.apply(GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
        state, LABELS, "0.0.0.0", null, false), state, LABELS, "istio-ingress",
        ExtAuthzClusters.of(PROVIDERS, state, List.of()));
  }

  @Test
  void customWithAGrpcProviderPutsNetworkExtAuthzAheadOfDenyAndAllowOnTcpChainsAndAddsItsCluster() throws Exception {
    PolicySet state = state(MESH + CUSTOM.formatted("authz-grpc") + deny("istio-ingress", "admin", null));
    MeshResources r = withProviders(state);
    List<Filter> tcp = listener(r, 9000).getFilterChains(0).getFiltersList();
    assertThat(tcp).extracting(Filter::getName).containsExactly("envoy.filters.network.rbac",
        "envoy.filters.network.ext_authz", "envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
    var shadow = tcp.get(0).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    assertThat(shadow.hasRules()).isFalse();
    assertThat(shadow.getShadowRules().getPoliciesMap()).isNotEmpty();
    var check = tcp.get(1).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.class);
    String cluster = check.getGrpcService().getEnvoyGrpc().getClusterName();
    assertThat(r.clusters()).extracting(io.envoyproxy.envoy.config.cluster.v3.Cluster::getName).containsOnlyOnce(cluster);
    // the HTTP server: the same provider as an HTTP ext_authz filter; one cluster for both
    assertThat(hcm(listener(r, 80)).getHttpFiltersList()).extracting(HttpFilter::getName)
        .contains("envoy.filters.http.ext_authz");
    assertThat(GatewayPolicies.warnings(r, state, LABELS, "istio-ingress", PROVIDERS)).isEmpty();
    var snapshot = GatewayTranslationTest.dataPlaneTakes(r, state, LABELS, "istio-ingress");
    assertThat(snapshot.warnings()).as("istiod's transport_api_version is the only field not read")
        .allMatch(w -> w.contains("transport_api_version: ignored"));
    assertThat(snapshot.listeners()).hasSize(2);
  }

  @Test
  void customWithAnUndefinedProviderDeniesEveryConnectionAndAnHttpProviderIsOnlyWarnedAbout() throws Exception {
    PolicySet undefined = state(MESH + CUSTOM.formatted("nowhere"));
    MeshResources r = withProviders(undefined);
    List<Filter> tcp = listener(r, 9000).getFilterChains(0).getFiltersList();
    assertThat(tcp).extracting(Filter::getName).containsExactly("envoy.filters.network.rbac",
        "envoy.filters.network.tcp_proxy");
    var denyAll = tcp.get(0).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    assertThat(denyAll.getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY);
    assertThat(denyAll.getRules().getPoliciesMap()).containsKey("default-deny-all-due-to-bad-CUSTOM-action");
    assertThat(GatewayPolicies.warnings(r, undefined, LABELS, "istio-ingress", PROVIDERS)).isEmpty();

    PolicySet http = state(MESH + CUSTOM.formatted("authz-http"));
    MeshResources h = withProviders(http);
    assertThat(listener(h, 9000).getFilterChains(0).getFiltersList()).extracting(Filter::getName)
        .containsExactly("envoy.filters.network.tcp_proxy");
    assertThat(GatewayPolicies.warnings(h, http, LABELS, "istio-ingress", PROVIDERS)).singleElement()
        .satisfies(w -> assertThat(w).contains("istio-ingress/ext", "not enforced", "'authz-http' is envoyExtAuthzHttp"));
  }
}
