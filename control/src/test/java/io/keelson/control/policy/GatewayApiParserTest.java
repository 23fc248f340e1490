package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Gateway API Gateway onto the gateway model, and HTTPRoute parentRefs of kind Gateway (with sectionName). */
class GatewayApiParserTest {
  static final Policy.AllowedRoutes SAME = new Policy.AllowedRoutes(true, List.of());

  @Test
  void listenersBecomeServersSelectedByTheGatewayNameLabel() throws Exception {
    var g = (Policy.Gateway) PolicyParser.parse("gw.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web, namespace: edge }
        spec:
          gatewayClassName: istio
          listeners:
          - { name: http, port: 8080, protocol: HTTP }
          - name: https
            port: 8443
            protocol: HTTPS
            hostname: "*.example.com"
            tls: { mode: Terminate, certificateRefs: [ { kind: Secret, name: web-cert } ] }
        """).policies().getFirst();
    assertThat(g.ref()).isEqualTo("edge/web");
    assertThat(g.selector()).isEqualTo(Map.of("gateway.networking.k8s.io/gateway-name", "web"));
    assertThat(g.servers()).containsExactly(
        new Policy.Server(0, 8080, "http", "HTTP", List.of("*"), null, SAME),
        new Policy.Server(1, 8443, "https", "HTTPS", List.of("*.example.com"),
            new Policy.ServerTls(false, "SIMPLE", "web-cert", null), SAME));
  }

  @Test
  void refusesWhatItDoesNotActOnByFieldPath() {
    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web }
        spec:
          gatewayClassName: nginx
          addresses: [ { value: 10.0.0.1 } ]
          listeners:
          - { name: a, port: 80, protocol: UDP }
          - { name: a, port: 81, protocol: HTTPS }
          - name: c
            port: 82
            protocol: HTTPS
            hostname: "bad name"
            tls: { mode: Passthrough, certificateRefs: [ { name: x, namespace: other } ] }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Gateway/web: spec.addresses: addresses are not supported; a Keelson gateway binds its"
            + " --gateway-address",
        "bad.yaml: Gateway/web: spec.gatewayClassName: 'nginx' is not a class Keelson implements; expected istio or keelson",
        "bad.yaml: Gateway/web: spec.listeners[0].protocol: 'UDP' is not supported; expected HTTP, HTTPS, TLS or TCP",
        "bad.yaml: Gateway/web: spec.listeners[1].name: 'a' is the name of another listener; expected unique names"
            + " (sectionName picks one)",
        "bad.yaml: Gateway/web: spec.listeners[1].tls: is required for an HTTPS listener; expected {mode: Terminate,"
            + " certificateRefs: [{name: SECRET}]}",
        "bad.yaml: Gateway/web: spec.listeners[2].hostname: 'bad name' is not a hostname; expected a DNS name or a"
            + " wildcard *.example.com",
        "bad.yaml: Gateway/web: spec.listeners[2].tls.mode: 'Passthrough' is not supported yet; expected Terminate");
  }

  @Test
  void httpRouteParentsOfKindGatewayWithSectionName() throws Exception {
    var r = (Policy.Routes) PolicyParser.parse("r.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { name: web, namespace: edge, sectionName: http }, { name: other }, { kind: Service, name: svc } ]
          hostnames: [ shop.example.com ]
          rules: [ { backendRefs: [ { name: svc, port: 80 } ] } ]
        """).policies().getFirst();
    assertThat(r.gateways()).containsExactly("edge/web/http", "default/other", "mesh");
    assertThat(r.services()).containsExactly("svc");
    assertThat(r.gatewayHosts()).containsExactly("shop.example.com");
    assertThat(r.boundTo("edge/web", "http")).isTrue();
    assertThat(r.boundTo("edge/web", "https")).isFalse();
    assertThat(r.boundTo("default/other", "any")).isTrue();
    assertThat(r.forMesh()).isTrue();
  }

  @Test
  void allowedRoutesFromSelectorKeepsMatchLabelsAndANamespaceKeepsItsLabels() throws Exception {
    var policies = PolicyParser.parse("gw.yaml", """
        apiVersion: v1
        kind: Namespace
        metadata: { name: shop, labels: { gateway-access: edge } }
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: tcp
            port: 9000
            protocol: TCP
            allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { gateway-access: edge } } } }
        """).policies();
    assertThat(policies.getFirst()).isEqualTo(new Policy.Namespace(policies.getFirst().meta(),
        Map.of("gateway-access", "edge")));
    assertThat(((Policy.Gateway) policies.get(1)).servers().getFirst().allowedRoutes())
        .isEqualTo(new Policy.AllowedRoutes(false, List.of(), LabelSelector.of(Map.of("gateway-access", "edge"))));
  }

  @Test
  void allowedRoutesSelectorTakesMatchExpressionsAndRefusesBadOperatorsByField() throws Exception {
    var g = (Policy.Gateway) PolicyParser.parse("gw.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: tcp
            port: 9000
            protocol: TCP
            allowedRoutes:
              namespaces:
                from: Selector
                selector:
                  matchLabels: { gateway-access: edge }
                  matchExpressions:
                  - { key: team, operator: In, values: [ shop, pay ] }
                  - { key: env, operator: NotIn, values: [ prod ] }
                  - { key: owner, operator: Exists }
                  - { key: legacy, operator: DoesNotExist }
        """).policies().getFirst();
    LabelSelector sel = g.servers().getFirst().allowedRoutes().namespaceSelector();
    assertThat(sel.matchExpressions()).containsExactly(
        new LabelSelector.Requirement("team", "In", List.of("shop", "pay")),
        new LabelSelector.Requirement("env", "NotIn", List.of("prod")),
        new LabelSelector.Requirement("owner", "Exists", List.of()),
        new LabelSelector.Requirement("legacy", "DoesNotExist", List.of()));
    var good = Map.of("gateway-access", "edge", "team", "pay", "owner", "x");
    assertThat(sel.matches(good)).isTrue();
    assertThat(sel.matches(Map.of("gateway-access", "edge", "team", "pay", "owner", "x", "env", "dev"))).isTrue();
    assertThat(sel.matches(Map.of("gateway-access", "edge", "team", "pay", "owner", "x", "env", "prod"))).isFalse();
    assertThat(sel.matches(Map.of("gateway-access", "edge", "team", "ops", "owner", "x"))).isFalse();
    assertThat(sel.matches(Map.of("gateway-access", "edge", "team", "pay"))).isFalse();
    assertThat(sel.matches(Map.of("gateway-access", "edge", "team", "pay", "owner", "x", "legacy", ""))).isFalse();
    assertThat(sel.matches(Map.of("team", "pay", "owner", "x"))).isFalse();
    assertThat(sel.matches(null)).isFalse();

    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: tcp
            port: 9000
            protocol: TCP
            allowedRoutes:
              namespaces:
                from: Selector
                selector:
                  matchExpressions:
                  - { key: team, operator: Equals, values: [ shop ] }
                  - { key: team, operator: In }
                  - { key: team, operator: Exists, values: [ shop ] }
                  - { operator: Exists }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Gateway/web: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].operator:"
            + " 'Equals' is not a label selector operator; expected In, NotIn, Exists or DoesNotExist",
        "bad.yaml: Gateway/web: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[1].values: is"
            + " required (non-empty) with operator In",
        "bad.yaml: Gateway/web: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[2].values: must"
            + " be empty with operator Exists",
        "bad.yaml: Gateway/web: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[3].key: is"
            + " required");
  }

  @Test
  void tlsPassthroughAndTcpListenersWithAllowedRoutes() throws Exception {
    var g = (Policy.Gateway) PolicyParser.parse("gw.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: tls
            port: 8443
            protocol: TLS
            hostname: "*.example.com"
            tls: { mode: Passthrough }
            allowedRoutes: { namespaces: { from: All }, kinds: [ { kind: TLSRoute } ] }
          - { name: tcp, port: 9000, protocol: TCP }
        """).policies().getFirst();
    assertThat(g.servers()).containsExactly(
        new Policy.Server(0, 8443, "tls", "TLS", List.of("*.example.com"),
            new Policy.ServerTls(false, "PASSTHROUGH", null, null), new Policy.AllowedRoutes(false, List.of("TLSRoute"))),
        new Policy.Server(1, 9000, "tcp", "TCP", List.of("*"), null, SAME));
  }

  @Test
  void refusesTlsAndTcpListenersAndAllowedRoutesItCannotServe() {
    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: a
            port: 80
            protocol: TLS
            tls: { mode: Terminate, certificateRefs: [ { name: c } ] }
            allowedRoutes: { kinds: [ { kind: TLSRoute }, { kind: HTTPRoute } ] }
          - { name: b, port: 81, protocol: TLS }
          - { name: e, port: 84, protocol: TLS, tls: { mode: Decrypt } }
          - { name: c, port: 82, protocol: TCP, hostname: db.example.com }
          - name: d
            port: 83
            protocol: HTTP
            allowedRoutes: { namespaces: { from: Selector, selector: { matchExpressions: [] } }, kinds: [ { kind: TCPRoute } ] }
        """)).containsExactlyInAnyOrder(
        // Istio's: a TLS listener that terminates serves TLSRoutes and TCPRoutes (the relayed bytes are plaintext).
        "bad.yaml: Gateway/web: spec.listeners[0].allowedRoutes.kinds[1].kind: 'HTTPRoute' is not a route kind a TLS"
            + " (Terminate) listener serves; expected one of [TLSRoute, TCPRoute]",
        "bad.yaml: Gateway/web: spec.listeners[2].tls.mode: 'Decrypt' is not a TLS listener mode; expected Passthrough"
            + " (TLSRoutes, by SNI) or Terminate (with certificateRefs; TLSRoutes and TCPRoutes)",
        "bad.yaml: Gateway/web: spec.listeners[1].tls: is required",
        "bad.yaml: Gateway/web: spec.listeners[3].hostname: a TCP listener matches no host name; expected no hostname"
            + " (use a TLS listener to route by SNI)",
        "bad.yaml: Gateway/web: spec.listeners[4].allowedRoutes.namespaces.selector.matchLabels: is required (or"
            + " matchExpressions); expected the labels of the routes' Namespace documents (apiVersion: v1, kind:"
            + " Namespace, metadata.labels)",
        "bad.yaml: Gateway/web: spec.listeners[4].allowedRoutes.kinds[0].kind: 'TCPRoute' is not a route kind a HTTP"
            + " listener serves; expected one of [HTTPRoute, GRPCRoute]");
  }

  @Test
  void streamAndGrpcRoutesTakeGatewayParentsBySectionNameAndPort() throws Exception {
    var policies = PolicyParser.parse("r.yaml", """
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: { name: t, namespace: shop }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: tls }, { name: edge, port: 8443 } ]
          hostnames: [ "*.example.com" ]
          rules: [ { backendRefs: [ { name: app, port: 443 } ] } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: c }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: tcp, port: 9000 } ]
          rules: [ { backendRefs: [ { name: db, port: 5432 } ] } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: { name: g }
        spec:
          parentRefs: [ { name: edge, namespace: edge } ]
          rules: [ { backendRefs: [ { name: greeter, port: 50051 } ] } ]
        """).policies();
    var tls = (Policy.Routes) policies.get(0);
    assertThat(tls.gateways()).as("a parentRef without namespace is in the route's (shop)")
        .containsExactly("edge/edge/tls", "shop/edge/:8443");
    assertThat(tls.streams().getFirst().backends().getFirst().service()).as("shop's Service app").isEqualTo("app.shop");
    assertThat(tls.forMesh()).isFalse();
    assertThat(tls.streams().getFirst().sniHosts()).containsExactly("*.example.com");
    assertThat(tls.boundTo("edge/edge", "tls", 1)).isTrue();
    assertThat(tls.boundTo("shop/edge", "other", 8443)).isTrue();
    assertThat(tls.boundTo("shop/edge", "other", 8444)).isFalse();
    var tcp = (Policy.Routes) policies.get(1);
    assertThat(tcp.gateways()).containsExactly("edge/edge/tcp:9000");
    assertThat(tcp.boundTo("edge/edge", "tcp", 9000)).isTrue();
    assertThat(tcp.boundTo("edge/edge", "tcp", 9001)).isFalse();
    assertThat(tcp.streams().getFirst().port()).isNull();
    assertThat(((Policy.Routes) policies.get(2)).gateways()).containsExactly("edge/edge");
  }
}
