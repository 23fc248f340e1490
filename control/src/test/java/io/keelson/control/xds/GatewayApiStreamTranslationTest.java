package io.keelson.control.xds;

import static io.keelson.control.xds.GatewayTranslationTest.gateway;
import static io.keelson.control.xds.GatewayTranslationTest.listener;
import static io.keelson.control.xds.GatewayTranslationTest.store;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.store.PolicySet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Gateway API Gateways with TLS (Passthrough) and TCP listeners, TLSRoute / TCPRoute / GRPCRoute parents of kind
 * Gateway, and allowedRoutes, translated to a gateway proxy's listeners; what does not attach is refused at apply.
 */
class GatewayApiStreamTranslationTest {
  static final Map<String, String> EDGE = Map.of("gateway.networking.k8s.io/gateway-name", "edge");

  static final String STREAMS = Mesh.registry(9001, 9002) + """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: app-a }
      spec: { ports: [ { name: tls, port: 443, protocol: TLS } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: app-b }
      spec: { ports: [ { name: tls, port: 443, protocol: TLS } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
      ---
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
          allowedRoutes: { namespaces: { from: All } }
        - { name: tcp, port: 5432, protocol: TCP, allowedRoutes: { namespaces: { from: All } } }
        - { name: http, port: 8080, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
      ---
      apiVersion: gateway.networking.k8s.io/v1alpha2
      kind: TLSRoute
      metadata: { name: a }
      spec:
        parentRefs: [ { name: edge, namespace: edge, sectionName: tls } ]
        hostnames: [ a.example.com ]
        rules: [ { backendRefs: [ { name: app-a, port: 443 } ] } ]
      ---
      apiVersion: gateway.networking.k8s.io/v1alpha2
      kind: TLSRoute
      metadata: { name: b }
      spec:
        parentRefs: [ { name: edge, namespace: edge, port: 8443 } ]
        hostnames: [ "*.b.example.com" ]
        rules: [ { backendRefs: [ { name: app-b, port: 443 } ] } ]
      ---
      apiVersion: gateway.networking.k8s.io/v1alpha2
      kind: TCPRoute
      metadata: { name: db }
      spec:
        parentRefs: [ { name: edge, namespace: edge, sectionName: tcp } ]
        rules: [ { backendRefs: [ { name: db, port: 5432 } ] } ]
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: GRPCRoute
      metadata: { name: grpc }
      spec:
        parentRefs: [ { name: edge, namespace: edge } ]
        hostnames: [ grpc.example.com ]
        rules: [ { backendRefs: [ { name: product-service, port: 80 } ] } ]
      """;

  @Test
  void tlsRoutesBecomeSniChainsTcpRoutesATcpProxyAndGrpcRoutesVirtualHosts() throws Exception {
    PolicySet state = store(STREAMS).current();
    var r = gateway(state, EDGE);
    assertThat(r.listeners()).extracting(Listener::getName)
        .containsExactly("0.0.0.0_5432", "0.0.0.0_8080", "0.0.0.0_8443");
    Listener tls = listener(r, "0.0.0.0_8443");
    assertThat(tls.getListenerFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.listener.tls_inspector");
    assertThat(tls.getFilterChainsList()).extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactlyInAnyOrder(List.of("a.example.com"), List.of("*.b.example.com"));
    for (var chain : tls.getFilterChainsList()) {
      String cluster = chain.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster();
      assertThat(cluster).isEqualTo(chain.getFilterChainMatch().getServerNames(0).equals("a.example.com") ? "app-a" : "app-b");
      assertThat(chain.hasTransportSocket()).isFalse();
    }
    assertThat(listener(r, "0.0.0.0_5432").getFilterChains(0).getFilters(0).getTypedConfig().unpack(TcpProxy.class)
        .getCluster()).isEqualTo("db");
    var http = GatewayTranslationTest.routes(r, "http.8080");
    var vh = GatewayTranslationTest.vhost(http, "grpc.example.com:8080");
    assertThat(vh.getRoutesList()).extracting(rt -> rt.getName()).containsExactly("GRPCRoute/grpc/grpc-0");
    assertThat(vh.getRoutes(0).getMatch().hasGrpc()).as("gRPC requests only").isTrue();
  }

  @Test
  void explainAtATlsPassthroughPortNamesTheSniChainAndAtATcpPortItsCluster() throws Exception {
    var r = gateway(store(STREAMS).current(), EDGE);
    Map<String, Object> exact = explain(r, 8443, "a.example.com");
    assertThat(exact.get("result")).isEqualTo("relayed (tcp_proxy)");
    assertThat(exact.get("why").toString()).contains("listener '0.0.0.0_8443'", "chosen by the TLS ClientHello's SNI"
        + " ('a.example.com')", "server names [a.example.com]", "TLS passthrough");
    assertThat(exact.get("clusters").toString()).contains("cluster=app-a");
    assertThat(explain(r, 8443, "x.b.example.com").get("clusters").toString()).as("by the wildcard")
        .contains("cluster=app-b");
    Map<String, Object> unknown = explain(r, 8443, "c.example.com");
    assertThat(unknown.get("result")).isEqualTo("connection closed (no filter chain)");
    assertThat(unknown.get("why").toString()).contains("no chain serves SNI 'c.example.com'");
    Map<String, Object> tcp = explain(r, 5432, "anything");
    assertThat(tcp.get("why").toString()).contains("a TCP port: no SNI is read", "plain TCP");
    assertThat(tcp.get("clusters").toString()).contains("cluster=db");
    // The HTTP port is explained as before: its route configuration.
    assertThat(explain(r, 8080, "grpc.example.com").get("why").toString()).contains("'http.8080'");
    assertThatThrownBy(() -> explain(r, 1, "a.example.com")).hasMessageContaining("serves no HTTP/HTTPS on port 1")
        .hasMessageContaining("0.0.0.0_5432");
  }

  @Test
  void explainAtATerminatingTlsPortNamesTheCertificateOfTheChainTheSniPicks() throws Exception {
    PolicySet state = store(terminating("")).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        EDGE, "0.0.0.0", "edge", true);
    Map<String, Object> mq = explain(r, 9443, "mq.example.com");
    assertThat(mq.get("why").toString()).contains("filter chain 'edge/edge/1'", "the gateway terminates TLS with"
        + " certificate [kubernetes://edge/mq-cert]");
    assertThat(mq.get("clusters").toString()).contains("cluster=mq");
    Map<String, Object> passthrough = explain(r, 9443, "a.apps.example.com");
    assertThat(passthrough.get("why").toString()).contains("TLS passthrough");
    assertThat(passthrough.get("clusters").toString()).contains("cluster=app-a");
  }

  private static Map<String, Object> explain(MeshResources r, int port, String sni) {
    return io.keelson.control.api.ExplainerAccess.explainGateway(r, "gw", port, sni, "/", Map.of(), "GET");
  }

  @Test
  void aTlsRouteWithoutHostnamesTakesTheListenerHostnameAndAllowedRoutesDefaultsToTheGatewaysNamespace()
      throws Exception {
    PolicySet state = store(Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: app-a }
        spec: { ports: [ { name: tls, port: 443, protocol: TLS } ] }
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - { name: named, port: 8443, protocol: TLS, hostname: "*.example.com", tls: { mode: Passthrough } }
          - { name: any, port: 9443, protocol: TLS, tls: { mode: Passthrough } }
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: { name: a }
        spec:
          parentRefs: [ { name: edge } ]
          rules: [ { backendRefs: [ { name: app-a, port: 443 } ] } ]
        """).current();
    var r = gateway(state, EDGE);
    assertThat(listener(r, "0.0.0.0_8443").getFilterChainsList())
        .extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactly(List.of("*.example.com"));
    // Without hostnames on either side: one chain for every name (no server_names).
    assertThat(listener(r, "0.0.0.0_9443").getFilterChainsList())
        .extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactly(List.of());

    // The TCP listener takes routes of the Gateway's namespace only (no allowedRoutes: from Same); the route is of
    // namespace default.
    assertThatThrownBy(() -> store(STREAMS.replace(
        "{ name: tcp, port: 5432, protocol: TCP, allowedRoutes: { namespaces: { from: All } } }",
        "{ name: tcp, port: 5432, protocol: TCP }")))
        .hasMessageContaining("TCPRoute/db: spec.parentRefs: Gateway edge/edge takes no TCPRoute TCPRoute/db:"
            + " listener 'tcp' takes routes of namespace edge only (allowedRoutes namespaces from: Same, the default),"
            + " not of default; expected allowedRoutes");
  }

  @Test
  void refusesRoutesNoListenerTakes() {
    assertThatThrownBy(() -> store(STREAMS.replace("sectionName: tls } ]", "sectionName: http } ]")))
        .hasMessageContaining("TLSRoute/a: spec.parentRefs: Gateway edge/edge takes no TLSRoute TLSRoute/a:"
            + " listener 'http' (HTTP) takes [HTTPRoute, GRPCRoute], not TLSRoute");
    assertThatThrownBy(() -> store(STREAMS.replace("port: 8443 } ]", "port: 8444 } ]")))
        .hasMessageContaining("TLSRoute/b: spec.parentRefs.port: Gateway edge/edge has no listener on port 8444");
    assertThatThrownBy(() -> store(STREAMS.replace(
        "{ name: tcp, port: 5432, protocol: TCP, allowedRoutes: { namespaces: { from: All } } }",
        "{ name: tcp, port: 5432, protocol: TCP, allowedRoutes: { namespaces: { from: All }, kinds: [ { kind: TCPRoute } ] } }")
        .replace("parentRefs: [ { name: edge, namespace: edge } ]\n  hostnames: [ grpc.example.com ]",
            "parentRefs: [ { name: edge, namespace: edge, sectionName: tcp } ]\n  hostnames: [ grpc.example.com ]")))
        .hasMessageContaining("GRPCRoute/grpc: spec.parentRefs: Gateway edge/edge takes no GRPCRoute");
  }

  @Test
  void istioWildcardSniHostsOnAPassthroughServerBecomeWildcardServerNames() throws Exception {
    PolicySet state = store(STREAMS + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 443, name: tls, protocol: TLS }
            hosts: [ "*.example.com" ]
            tls: { mode: PASSTHROUGH }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: passthrough }
        spec:
          hosts: [ "*.example.com" ]
          gateways: [ default/ingress ]
          tls:
          - match: [ { port: 443, sniHosts: [ a.example.com ] } ]
            route: [ { destination: { host: app-a } } ]
          - match: [ { port: 443, sniHosts: [ "*.b.example.com", "*.other.org" ] } ]
            route: [ { destination: { host: app-b } } ]
        """).current();
    Listener tls = listener(gateway(state, Map.of("istio", "ingressgateway")), "0.0.0.0_443");
    // *.other.org is outside the server's hosts; the data plane picks exact, then the longest wildcard.
    assertThat(tls.getFilterChainsList()).extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactly(List.of("a.example.com"), List.of("*.b.example.com"));
  }

  /** Two TLS listeners that terminate (each its hostname and Secret) and a Passthrough one, all on port 9443. */
  static String terminating(String extraRoute) throws Exception {
    io.keelson.dataplane.testing.TestCa ca = new io.keelson.dataplane.testing.TestCa("edge-ca");
    var db = ca.issue("db.example.com", "db.example.com");
    var mq = ca.issue("mq.example.com", "mq.example.com");
    return Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: mq }
        spec: { ports: [ { name: tcp, port: 5672, protocol: TCP } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: app-a }
        spec: { ports: [ { name: tls, port: 443, protocol: TLS } ] }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: db-cert, namespace: edge }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: mq-cert, namespace: edge }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: db
            port: 9443
            protocol: TLS
            hostname: db.example.com
            tls: { mode: Terminate, certificateRefs: [ { name: db-cert } ] }
            allowedRoutes: { namespaces: { from: All } }
          - name: mq
            port: 9443
            protocol: TLS
            hostname: mq.example.com
            tls: { mode: Terminate, certificateRefs: [ { name: mq-cert } ] }
            allowedRoutes: { namespaces: { from: All } }
          - name: pass
            port: 9443
            protocol: TLS
            hostname: "*.apps.example.com"
            tls: { mode: Passthrough }
            allowedRoutes: { namespaces: { from: All } }
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: db }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: db } ]
          rules: [ { backendRefs: [ { name: db, port: 5432 } ] } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: mq }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: mq } ]
          rules: [ { backendRefs: [ { name: mq, port: 5672 } ] } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: { name: a }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: pass } ]
          hostnames: [ a.apps.example.com ]
          rules: [ { backendRefs: [ { name: app-a, port: 443 } ] } ]
        """.formatted(GatewayTranslationTest.b64(db.certPem()), GatewayTranslationTest.b64(db.keyPem()),
        GatewayTranslationTest.b64(mq.certPem()), GatewayTranslationTest.b64(mq.keyPem())) + extraRoute;
  }

  @Test
  void terminatingTlsListenersRelayTheirTcpRoutesBesidePassthroughOnesOfTheirPort() throws Exception {
    PolicySet state = store(terminating("")).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        EDGE, "0.0.0.0", "edge", true);
    Listener tls = listener(r, "0.0.0.0_9443");
    assertThat(tls.getFilterChainsList()).extracting(c -> c.getName() + " " + c.getFilterChainMatch().getServerNamesList()
            + " " + c.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster())
        .containsExactly("edge/edge/0 [db.example.com] db", "edge/edge/1 [mq.example.com] mq",
            "outbound_0.0.0.0_9443|a|a.apps.example.com [a.apps.example.com] app-a");
    assertThat(tls.getFilterChainsList()).extracting(c -> c.hasTransportSocket() ? c.getTransportSocket().getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class)
            .getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName() : "passthrough")
        .containsExactly("kubernetes://edge/db-cert", "kubernetes://edge/mq-cert", "passthrough");
  }

  /** {@link #terminating}'s Gateway with listener mq's {@code allowedRoutes} replaced by {@code allowedRoutes}. */
  private static String mqAllowing(String allowedRoutes) throws Exception {
    return terminating("").replaceFirst(
        "(hostname: mq.example.com\n\s*tls: \\{[^}]*\\}[^}]*\\}\n\s*allowedRoutes: )\\{ namespaces: \\{ from: All \\} \\}",
        "$1" + java.util.regex.Matcher.quoteReplacement(allowedRoutes));
  }

  @Test
  void aListenerFromSelectorTakesRoutesOfNamespacesWithTheLabelsOnly() throws Exception {
    String selector = "{ namespaces: { from: Selector, selector: { matchLabels: { gateway-access: edge } } } }";
    String mqBySelector = mqAllowing(selector);
    assertThat(mqBySelector).contains(selector);
    assertThatThrownBy(() -> store(mqBySelector)).hasMessageContaining("listener 'mq' takes routes of namespaces"
        + " labelled {gateway-access=edge} only (allowedRoutes namespaces from: Selector), and namespace default has only"
        + " {kubernetes.io/metadata.name=default} (no Namespace document, apiVersion: v1, kind: Namespace, gives it"
        + " labels)");
    assertThatThrownBy(() -> store(mqBySelector + """
        ---
        apiVersion: v1
        kind: Namespace
        metadata: { name: default, labels: { gateway-access: other } }
        """)).hasMessageContaining("namespace default is labelled {gateway-access=other,"
        + " kubernetes.io/metadata.name=default}");
    PolicySet state = store(mqBySelector + """
        ---
        apiVersion: v1
        kind: Namespace
        metadata: { name: default, labels: { gateway-access: edge, team: shop } }
        """).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        EDGE, "0.0.0.0", "edge", true);
    assertThat(listener(r, "0.0.0.0_9443").getFilterChainsList()).extracting(c -> c.getName())
        .contains("edge/edge/1");
  }

  @Test
  void aListenerSelectorsMatchExpressionsChooseTheNamespacesWhoseRoutesAttach() throws Exception {
    String selector = "{ namespaces: { from: Selector, selector: { matchExpressions: [ { key: team, operator: In,"
        + " values: [ shop ] }, { key: frozen, operator: DoesNotExist } ] } } }";
    String mqBySelector = mqAllowing(selector);
    assertThat(mqBySelector).contains(selector);
    assertThatThrownBy(() -> store(mqBySelector + """
        ---
        apiVersion: v1
        kind: Namespace
        metadata: { name: default, labels: { team: shop, frozen: "yes" } }
        """)).hasMessageContaining("listener 'mq' takes routes of namespaces labelled team In [shop] and frozen"
        + " DoesNotExist only (allowedRoutes namespaces from: Selector), and namespace default is labelled");
    PolicySet state = store(mqBySelector + """
        ---
        apiVersion: v1
        kind: Namespace
        metadata: { name: default, labels: { team: shop } }
        """).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        EDGE, "0.0.0.0", "edge", true);
    assertThat(listener(r, "0.0.0.0_9443").getFilterChainsList()).extracting(c -> c.getName())
        .contains("edge/edge/1");
  }

  @Test
  void everyNamespaceCarriesItsKubernetesNameLabelWithoutANamespaceDocument() throws Exception {
    // Kubernetes labels every namespace kubernetes.io/metadata.name: NAME, so NotIn/DoesNotExist on it exclude.
    String notDefault = mqAllowing("{ namespaces: { from: Selector, selector: { matchExpressions: [ { key:"
        + " kubernetes.io/metadata.name, operator: NotIn, values: [ default ] } ] } } }");
    assertThatThrownBy(() -> store(notDefault)).hasMessageContaining("listener 'mq' takes routes of namespaces labelled"
        + " kubernetes.io/metadata.name NotIn [default] only (allowedRoutes namespaces from: Selector), and namespace"
        + " default has only {kubernetes.io/metadata.name=default}");
    String unnamed = mqAllowing("{ namespaces: { from: Selector, selector: { matchExpressions: [ { key:"
        + " kubernetes.io/metadata.name, operator: DoesNotExist } ] } } }");
    assertThatThrownBy(() -> store(unnamed)).hasMessageContaining("and namespace default has only"
        + " {kubernetes.io/metadata.name=default}");
    PolicySet state = store(mqAllowing("{ namespaces: { from: Selector, selector: { matchExpressions: [ { key:"
        + " kubernetes.io/metadata.name, operator: In, values: [ default ] } ] } } }")).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        EDGE, "0.0.0.0", "edge", true);
    assertThat(listener(r, "0.0.0.0_9443").getFilterChainsList()).extracting(c -> c.getName())
        .contains("edge/edge/1");
  }

  @Test
  void aTerminatingTlsListenerTakesTlsRoutesTooItsTcpRouteFirst() throws Exception {
    // Istio's: a Terminate listener serves TLSRoutes (by hostname) and TCPRoutes; the TCPRoute's chain (the
    // listener's hostname) is built first and takes the name, so the TLSRoute for the same name gets no chain.
    PolicySet state = store(terminating("""
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: { name: late }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: db } ]
          hostnames: [ db.example.com ]
          rules: [ { backendRefs: [ { name: app-a, port: 443 } ] } ]
        """)).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        EDGE, "0.0.0.0", "edge", true);
    assertThat(listener(r, "0.0.0.0_9443").getFilterChainsList()).extracting(c -> c.getName() + " "
            + c.getFilterChainMatch().getServerNamesList())
        .containsExactly("edge/edge/0 [db.example.com]", "edge/edge/1 [mq.example.com]",
            "outbound_0.0.0.0_9443|a|a.apps.example.com [a.apps.example.com]");
  }
}
