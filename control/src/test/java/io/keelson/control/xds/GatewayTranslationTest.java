package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.testing.TestCa;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Istio Gateway + VirtualService gateways to a gateway proxy's listeners and routes, and the checks across documents. */
class GatewayTranslationTest {
  static String secrets;
  static TestCa.Leaf leaf;

  @BeforeAll
  static void certificates() throws Exception {
    TestCa ca = new TestCa("ca");
    leaf = ca.issue("shop.example.com", "shop.example.com");
    secrets = """
        apiVersion: v1
        kind: Secret
        metadata: { name: shop-cert, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %1$s, tls.key: %2$s, ca.crt: %3$s }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: no-ca, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %1$s, tls.key: %2$s }
        """.formatted(b64(leaf.certPem()), b64(leaf.keyPem()), b64(ca.certPem()));
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }

  static final String MESH = Mesh.registry(9001, 9002) + """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: product-service }
      spec:
        host: product-service
        subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers:
        - port: { number: 80, name: http, protocol: HTTP }
          hosts: [ shop.example.com, "*.apps.example.com" ]
        - port: { number: 80, name: http-redirect, protocol: HTTP }
          hosts: [ secure.example.com ]
          tls: { httpsRedirect: true }
        - port: { number: 443, name: https, protocol: HTTPS }
          hosts: [ secure.example.com ]
          tls: { mode: SIMPLE, credentialName: shop-cert, minProtocolVersion: TLSV1_3 }
        - port: { number: 8443, name: https-mtls, protocol: HTTPS }
          hosts: [ "*" ]
          tls: { mode: MUTUAL, credentialName: shop-cert }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: shop }
      spec:
        hosts: [ shop.example.com, secure.example.com, "*" ]
        gateways: [ istio-system/ingress ]
        http:
        - match: [ { headers: { x-version: { exact: v2 } } } ]
          route: [ { destination: { host: product-service, subset: v2 } } ]
        - route: [ { destination: { host: product-service, subset: v1 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: both }
      spec:
        hosts: [ product-service, api.apps.example.com ]
        gateways: [ mesh, istio-system/ingress ]
        http:
        - route: [ { destination: { host: product-service, subset: v2 } } ]
      """;

  static PolicyStore store(String yaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store;
  }

  /**
   * The data plane's snapshot of a gateway's resources, with the Secrets {@code namespace}'s gateway is served over
   * SDS delivered first, as the proxy's xDS cache delivers them.
   */
  static io.keelson.dataplane.config.ProxySnapshot dataPlaneTakes(MeshResources r, PolicySet state,
      Map<String, String> labels, String namespace) throws Exception {
    Map<String, RouteConfiguration> byName = new java.util.LinkedHashMap<>();
    r.routes().forEach(rc -> byName.put(rc.getName(), rc));
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints = new java.util.LinkedHashMap<>();
    r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    var secrets = new io.keelson.dataplane.tls.ListenerSecrets();
    for (var secret : GatewaySecrets.forGateway(state, labels, namespace).secrets()) {
      io.keelson.dataplane.config.envoy.ServedSecrets.deliver(secrets, secret);
    }
    return io.keelson.dataplane.tls.ListenerSecrets.with(secrets, () ->
        io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("test",
            io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(), byName,
            r.clusters(), endpoints));
  }

  /** The gateway as one of namespace istio-system (its join token's) with a SPIFFE ID sees it. */
  static MeshResources gateway(PolicySet state, Map<String, String> labels) {
    return GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state, labels,
        "0.0.0.0", "istio-system", true);
  }

  static Listener listener(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no listener " + name + " in " + r.listeners().stream().map(Listener::getName).toList()));
  }

  static RouteConfiguration routes(MeshResources r, String name) {
    return r.routes().stream().filter(rc -> rc.getName().equals(name)).findFirst().orElseThrow();
  }

  static VirtualHost vhost(RouteConfiguration rc, String name) {
    return rc.getVirtualHostsList().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no virtual host " + name + " in "
            + rc.getVirtualHostsList().stream().map(VirtualHost::getName).toList()));
  }

  @Test
  void serversBecomeIstiodShapedListenersAndBoundVirtualServicesTheirVirtualHosts() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH).current();
    MeshResources r = gateway(state, Map.of("istio", "ingressgateway", "app", "edge"));
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_80", "0.0.0.0_443", "0.0.0.0_8443");
    Listener http = listener(r, "0.0.0.0_80");
    assertThat(http.getAddress().getSocketAddress().getAddress()).isEqualTo("0.0.0.0");
    HttpConnectionManager hcm = http.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(hcm.getUseRemoteAddress().getValue()).isTrue();
    assertThat(hcm.getRds().getRouteConfigName()).isEqualTo("http.80");
    assertThat(r.routes()).extracting(RouteConfiguration::getName).containsExactly("http.80", "https.443.https.ingress.istio-system", "https.8443.https-mtls.ingress.istio-system");

    RouteConfiguration http80 = routes(r, "http.80");
    // Server hosts meet VirtualService hosts: the more specific name; "*" of the VirtualService takes the server's.
    assertThat(http80.getVirtualHostsList()).extracting(VirtualHost::getName).containsExactly(
        "*.apps.example.com:80", "api.apps.example.com:80", "secure.example.com:80", "shop.example.com:80");
    VirtualHost shop = vhost(http80, "shop.example.com:80");
    assertThat(shop.getDomainsList()).containsExactly("shop.example.com", "shop.example.com:80");
    assertThat(shop.getRoutesList()).extracting(rt -> rt.getRoute().getCluster()).containsExactly("product-service|v2",
        "product-service|v1");
    assertThat(shop.getRoutes(0).getMatch().getHeaders(0).getName()).isEqualTo("x-version");
    assertThat(vhost(http80, "api.apps.example.com:80").getRoutesList()).extracting(rt -> rt.getRoute().getCluster())
        .containsExactly("product-service|v2"); // VirtualService "both", on the gateway too
    VirtualHost redirect = vhost(http80, "secure.example.com:80");
    assertThat(redirect.getRoutesCount()).isEqualTo(1);
    assertThat(redirect.getRoutes(0).getRedirect().getHttpsRedirect()).isTrue();
    assertThat(redirect.getRoutes(0).getRedirect().getResponseCode().name()).isEqualTo("MOVED_PERMANENTLY");

    Listener https = listener(r, "0.0.0.0_443");
    assertThat(https.getListenerFiltersList()).extracting(f -> f.getName()).containsExactly("envoy.filters.listener.tls_inspector");
    assertThat(https.getFilterChainsList()).extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactly(List.of("secure.example.com"));
    DownstreamTlsContext simple = https.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
    assertThat(simple.getCommonTlsContext().getTlsCertificatesCount()).as("no inline key").isZero();
    assertThat(simple.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("kubernetes://istio-system/shop-cert");
    assertThat(simple.getCommonTlsContext().getTlsParams().getTlsMinimumProtocolVersion()).isEqualTo(TlsParameters.TlsProtocol.TLSv1_3);
    assertThat(simple.hasRequireClientCertificate()).isFalse();
    Listener mtls = listener(r, "0.0.0.0_8443");
    assertThat(mtls.getFilterChainsList()).extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactly(List.<String>of());
    DownstreamTlsContext mutual = mtls.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
    assertThat(mutual.getRequireClientCertificate().getValue()).isTrue();
    assertThat(mutual.getCommonTlsContext().getValidationContextSdsSecretConfig().getName()).endsWith("-cacert");
    assertThat(https.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class).getRds()
        .getRouteConfigName()).isEqualTo("https.443.https.ingress.istio-system");
    assertThat(vhost(routes(r, "https.443.https.ingress.istio-system"), "secure.example.com:443").getRoutesCount()).isEqualTo(2);

    // The mesh's clusters, as sidecars get them.
    assertThat(r.clusters()).extracting(c -> c.getName()).contains("product-service", "product-service|v1", "product-service|v2");
    // The data plane takes it all (with the Secrets it is served): no problem, no warning.
    var snapshot = dataPlaneTakes(r, state, Map.of("istio", "ingressgateway"), "istio-system");
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(snapshot.listeners()).hasSize(3);
  }

  @Test
  void overSdsListenersNameIstiodsSecretsAndOnlyTheSelectedGatewaysAreServedThem() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH).current();
    MeshResources sds = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        Map.of("istio", "ingressgateway"), "0.0.0.0", "istio-system", true);
    var tls = listener(sds, "0.0.0.0_8443").getFilterChains(0).getTransportSocket().getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class);
    assertThat(tls.getCommonTlsContext().getTlsCertificatesCount()).as("no inline key").isZero();
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("kubernetes://istio-system/shop-cert");
    assertThat(tls.getCommonTlsContext().getValidationContextSdsSecretConfig().getName())
        .isEqualTo("kubernetes://istio-system/shop-cert-cacert");
    assertThat(tls.getRequireClientCertificate().getValue()).isTrue();
    // The listeners do not depend on the Secret's content: a rotation changes no listener version.
    TestCa.Leaf other = new TestCa("ca").issue("shop.example.com", "shop.example.com");
    PolicySet rotated = store(secrets.replace(b64(leaf.certPem()), b64(other.certPem()))
        .replace(b64(leaf.keyPem()), b64(other.keyPem())) + "---\n" + MESH).current();
    MeshResources after = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(rotated, List.of()),
        rotated, Map.of("istio", "ingressgateway"), "0.0.0.0", "istio-system", true);
    assertThat(after.listenersVersion()).isEqualTo(sds.listenersVersion());
    var served = GatewaySecrets.forGateway(state, Map.of("istio", "ingressgateway"), "istio-system");
    assertThat(served.secrets()).extracting(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret::getName)
        .containsExactly("kubernetes://istio-system/shop-cert", "kubernetes://istio-system/shop-cert-cacert");
    assertThat(GatewaySecrets.forGateway(rotated, Map.of("istio", "ingressgateway"), "istio-system").version())
        .isNotEqualTo(served.version());
    assertThat(GatewaySecrets.forGateway(state, Map.of("istio", "egressgateway"), "istio-system").secrets()).isEmpty();
    assertThat(GatewaySecrets.forGateway(state, Map.of(), "istio-system").secrets()).isEmpty();
  }

  /** Two namespaces' Gateways on one proxy, each with a Secret {@code cert} of its own (leaf A in a, leaf B in b). */
  private static String twoNamespaces(TestCa.Leaf a, TestCa.Leaf b) {
    StringBuilder y = new StringBuilder(Mesh.registry(9001, 9002));
    for (var e : Map.of("a", a, "b", b).entrySet()) {
      y.append("""
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: cert, namespace: %1$s }
          type: kubernetes.io/tls
          data: { tls.crt: %2$s, tls.key: %3$s }
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: gw, namespace: %1$s }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: 443, name: https, protocol: HTTPS }
              hosts: [ %1$s.example.com ]
              tls: { mode: SIMPLE, credentialName: cert }
          """.formatted(e.getKey(), b64(e.getValue().certPem()), b64(e.getValue().keyPem())));
    }
    return y.toString();
  }

  @Test
  void sameCredentialNameInTwoNamespacesNamesTwoSecretsAndEachGatewayIsServedOnlyItsNamespaces() throws Exception {
    TestCa ca = new TestCa("two");
    TestCa.Leaf a = ca.issue("a.example.com", "a.example.com");
    TestCa.Leaf b = ca.issue("b.example.com", "b.example.com");
    PolicySet state = store(twoNamespaces(a, b)).current();
    Map<String, String> labels = Map.of("istio", "ingressgateway");
    for (var e : Map.of("a", a, "b", b).entrySet()) {
      String ns = e.getKey();
      String other = ns.equals("a") ? "b" : "a";
      MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
          state, labels, "0.0.0.0", ns, true);
      var chains = listener(r, "0.0.0.0_443").getFilterChainsList();
      assertThat(chains).as("only the chain of the Secret its token's namespace may read").hasSize(1);
      assertThat(chains.get(0).getFilterChainMatch().getServerNamesList()).containsExactly(ns + ".example.com");
      assertThat(chains.get(0).getTransportSocket().getTypedConfig()
          .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class)
          .getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
          .isEqualTo("kubernetes://" + ns + "/cert");
      var served = GatewaySecrets.forGateway(state, labels, ns).secrets();
      assertThat(served).extracting(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret::getName)
          .containsExactly("kubernetes://" + ns + "/cert");
      assertThat(served.get(0).getTlsCertificate().getCertificateChain().getInlineString())
          .as("its own certificate").isEqualTo(e.getValue().certPem());
      assertThat(GatewayTranslator.warnings(state, labels, ns, true)).singleElement().asString()
          .contains("Gateway " + other + "/gw").contains("Secret " + other + "/cert")
          .contains("join token is of namespace " + ns);
    }
    assertThat(GatewaySecrets.forGateway(state, labels, "elsewhere").secrets()).as("a third namespace").isEmpty();
    // The plaintext port (no join token): no Secret at all, so neither chain; the status says why.
    MeshResources plaintext = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
        state, labels, "0.0.0.0", null, false);
    assertThat(plaintext.listeners().toString()).doesNotContain("BEGIN").doesNotContain("kubernetes://");
    assertThat(GatewayTranslator.warnings(state, labels, null, false)).hasSize(2).allSatisfy(w -> assertThat(w)
        .contains("is not served over the plaintext xDS port"));
  }

  @Test
  void istioMutualOnAGatewayWithoutIdentityDropsOnlyThatChainAndWarns() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH.replace("tls: { mode: MUTUAL, credentialName: shop-cert }",
        "tls: { mode: ISTIO_MUTUAL }")).current();
    Map<String, String> labels = Map.of("istio", "ingressgateway");
    MeshResources with = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
        state, labels, "0.0.0.0", "istio-system", true);
    MeshResources without = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()),
        state, labels, "0.0.0.0", "istio-system", false);
    assertThat(with.listeners().toString()).contains("ROOTCA");
    assertThat(without.listeners().toString()).doesNotContain("ROOTCA").doesNotContain("\"default\"");
    assertThat(without.listeners().size()).as("the other ports stay").isGreaterThan(0);
    assertThat(GatewayTranslator.warnings(state, labels, "istio-system", false)).singleElement().asString()
        .contains("ISTIO_MUTUAL").contains("no SPIFFE ID");
    assertThat(GatewayTranslator.warnings(state, labels, "istio-system", true)).isEmpty();
  }

  /** Two terminating TLS servers on port 9443 (Gateway term) and a PASSTHROUGH one (Gateway pass, same proxies). */
  static final String SNI_PORT = """
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: term, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers:
        - port: { number: 9443, name: tls-db, protocol: TLS }
          hosts: [ db.example.com ]
          tls: { mode: SIMPLE, credentialName: shop-cert }
        - port: { number: 9443, name: tls-mq, protocol: TLS }
          hosts: [ mq.example.com, "*.mq.example.com" ]
          tls: { mode: SIMPLE, credentialName: no-ca }
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: pass, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway, app: edge }
        servers:
        - port: { number: 9443, name: tls-pass, protocol: TLS }
          hosts: [ %s ]
          tls: { mode: PASSTHROUGH }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: db }
      spec:
        hosts: [ db.example.com ]
        gateways: [ istio-system/term ]
        tcp: [ { route: [ { destination: { host: product-service, subset: v1 } } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: mq }
      spec:
        hosts: [ "*.mq.example.com", mq.example.com ]
        gateways: [ istio-system/term ]
        tcp: [ { route: [ { destination: { host: product-service, subset: v2 } } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: pass }
      spec:
        hosts: [ other.example.com ]
        gateways: [ istio-system/pass ]
        tls:
        - match: [ { sniHosts: [ other.example.com ] } ]
          route: [ { destination: { host: product-service } } ]
      """;

  @Test
  void terminatingAndPassthroughTlsServersShareAPortAsChainsSelectedByServerNames() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH + SNI_PORT.formatted("other.example.com")).current();
    MeshResources r = gateway(state, Map.of("istio", "ingressgateway", "app", "edge"));
    Listener tls = listener(r, "0.0.0.0_9443");
    assertThat(tls.getListenerFiltersList()).extracting(f -> f.getName()).containsExactly("envoy.filters.listener.tls_inspector");
    // istiod's order and names: each terminating server's hosts (sorted), then the passthrough routes' SNI.
    assertThat(tls.getFilterChainsList()).extracting(c -> c.getName() + " " + c.getFilterChainMatch().getServerNamesList())
        .containsExactly("istio-system/term/0 [db.example.com]", "istio-system/term/1 [*.mq.example.com, mq.example.com]",
            "outbound_0.0.0.0_9443|pass|other.example.com [other.example.com]");
    // Each terminating chain its own certificate (SDS, istiod's names), no ALPN; the passthrough chain none.
    assertThat(tls.getFilterChainsList().subList(0, 2)).extracting(c -> {
      var d = c.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext();
      return d.getTlsCertificateSdsSecretConfigs(0).getName() + " alpn=" + d.getAlpnProtocolsList();
    }).containsExactly("kubernetes://istio-system/shop-cert alpn=[]", "kubernetes://istio-system/no-ca alpn=[]");
    assertThat(tls.getFilterChains(2).hasTransportSocket()).isFalse();
    // Each chain relays to its own VirtualService's backend.
    assertThat(tls.getFilterChainsList()).extracting(c -> c.getFilters(0).getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class).getCluster())
        .containsExactly("product-service|v1", "product-service|v2", "product-service");
    // The data plane takes the listener: three SNI-selected tcp_proxy chains, the first two terminating.
    var snapshot = dataPlaneTakes(r, state, Map.of("istio", "ingressgateway", "app", "edge"), "istio-system");
    assertThat(snapshot.warnings()).isEmpty();
    var chains = snapshot.listeners().stream().filter(l -> l.name().equals("0.0.0.0_9443")).findFirst().orElseThrow()
        .sniChains();
    assertThat(chains).extracting(c -> c.serverNames() + " " + (c.tls() != null))
        .containsExactly("[db.example.com] true", "[*.mq.example.com, mq.example.com] true", "[other.example.com] false");
  }

  /** An HTTPS server on the SNI port ({@link #SNI_PORT}), its hosts {@code %s}, and a VirtualService for it. */
  static final String HTTPS_ON_SNI_PORT = """
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: web, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers:
        - port: { number: 9443, name: https-web, protocol: HTTPS }
          hosts: [ %s ]
          tls: { mode: SIMPLE, credentialName: shop-cert }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: web }
      spec:
        hosts: [ "*.example.com" ]
        gateways: [ istio-system/web ]
        http: [ { route: [ { destination: { host: product-service, subset: v1 } } ] } ]
      """;

  @Test
  void httpsAndTlsServersShareAPortAsHttpAndTcpProxyChainsSelectedByServerNames() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH + SNI_PORT.formatted("other.example.com")
        + HTTPS_ON_SNI_PORT.formatted("\"*.example.com\"")).current();
    Map<String, String> labels = Map.of("istio", "ingressgateway", "app", "edge");
    MeshResources r = gateway(state, labels);
    Listener port = listener(r, "0.0.0.0_9443");
    // istiod's: the HTTPS server's chain (its connection manager), then the terminating ones, then passthrough.
    assertThat(port.getFilterChainsList()).extracting(c -> c.getName() + " " + c.getFilterChainMatch().getServerNamesList()
            + " " + c.getFilters(0).getName())
        .containsExactly("istio-system/web/0 [*.example.com] envoy.filters.network.http_connection_manager",
            "istio-system/term/0 [db.example.com] envoy.filters.network.tcp_proxy",
            "istio-system/term/1 [*.mq.example.com, mq.example.com] envoy.filters.network.tcp_proxy",
            "outbound_0.0.0.0_9443|pass|other.example.com [other.example.com] envoy.filters.network.tcp_proxy");
    assertThat(r.routes()).extracting(RouteConfiguration::getName).contains("https.9443.https-web.web.istio-system");
    // The data plane takes it: one chain config per filter chain, chosen by server name.
    var snapshot = dataPlaneTakes(r, state, labels, "istio-system");
    assertThat(snapshot.warnings()).isEmpty();
    var l = snapshot.listeners().stream().filter(x -> x.name().equals("0.0.0.0_9443")).findFirst().orElseThrow();
    assertThat(l.serverNameChains().chains()).extracting(e -> e.serverNames() + " " + (e.chain().http() != null))
        .containsExactly("[*.example.com] true", "[db.example.com] false", "[*.mq.example.com, mq.example.com] false",
            "[other.example.com] false");
    assertThat(l.serverNameChains().select("db.example.com").tcpProxy()).as("exact beats the HTTPS wildcard")
        .isNotNull();
    assertThat(l.serverNameChains().select("shop.example.com").http()).isNotNull();
    // A host of the HTTPS server that a TLS server of the port also has is refused: one chain per name.
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH + SNI_PORT.formatted("other.example.com")
        + HTTPS_ON_SNI_PORT.formatted("db.example.com")))
        .hasMessageContaining("host db.example.com on port 9443 is also a host of Gateway istio-system/term, which"
            + " selects the same proxies, and both terminate TLS");
  }

  @Test
  void aHostOfATerminatingTlsServerIsInNoOtherTlsServerOfItsPort() throws Exception {
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH + SNI_PORT.formatted("db.example.com")))
        .hasMessageContaining("Gateway/istio-system/pass: spec.servers[0].hosts: host db.example.com on port 9443 is"
            + " also a host of Gateway istio-system/term, which selects the same proxies, and that server terminates TLS"
            + " (tls.mode SIMPLE, a filter chain selected by its hosts); expected each host of a port's terminating TLS"
            + " servers in one TLS server");
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH + SNI_PORT.formatted("other.example.com")
        .replace("hosts: [ mq.example.com, \"*.mq.example.com\" ]", "hosts: [ mq.example.com, db.example.com ]")))
        .hasMessageContaining("Gateway/istio-system/term: spec.servers[1].hosts: host db.example.com on port 9443 is"
            + " also a host of server 0 of this Gateway, and both terminate TLS");
    // Gateways that select no proxy in common may.
    store(secrets + "---\n" + MESH + SNI_PORT.formatted("db.example.com")
        .replace("istio: ingressgateway, app: edge", "istio: egressgateway"));
  }

  @Test
  void istioMutualHttpsServersPresentTheProxysOwnCertificateAndRequireTheMeshBundle() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH.replace("tls: { mode: MUTUAL, credentialName: shop-cert }",
        "tls: { mode: ISTIO_MUTUAL }")).current();
    var tls = listener(gateway(state, Map.of("istio", "ingressgateway")), "0.0.0.0_8443").getFilterChains(0)
        .getTransportSocket().getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class);
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName()).isEqualTo("default");
    assertThat(tls.getCommonTlsContext().getValidationContextSdsSecretConfig().getName()).isEqualTo("ROOTCA");
    assertThat(tls.getRequireClientCertificate().getValue()).isTrue();
    assertThat(tls.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("h2", "http/1.1");
    assertThat(GatewaySecrets.forGateway(state, Map.of("istio", "ingressgateway"), "istio-system").secrets())
        .extracting(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret::getName)
        .containsExactly("kubernetes://istio-system/shop-cert");
  }

  @Test
  void otherLabelsGetNothingAndSidecarsGetOnlyMeshBoundRoutes() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH).current();
    assertThat(gateway(state, Map.of("istio", "egressgateway")).listeners()).isEmpty();
    MeshResources sidecar = new MeshTranslator(15001, false).translate(state, List.of());
    RouteConfiguration outbound = sidecar.routes().getFirst();
    VirtualHost product = outbound.getVirtualHostsList().stream().filter(v -> v.getName().equals("product-service"))
        .findFirst().orElseThrow();
    // "both" (mesh and the gateway) applies to sidecars; "shop" (the gateway only) does not.
    assertThat(product.getRoutesList()).extracting(rt -> rt.getName()).containsExactly("VirtualService/both/both-0");
    assertThat(outbound.getVirtualHostsList()).extracting(VirtualHost::getName).doesNotContain("shop.example.com");
  }

  @Test
  void refusesUnknownGatewaysMissingSecretsAndAPortWithTwoProtocols() throws Exception {
    assertThatThrownBy(() -> store(MESH)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.servers[2].tls.credentialName: Gateway istio-system/ingress server 2: no Secret"
            + " 'shop-cert' in namespace istio-system; expected a Secret (apiVersion: v1, type: kubernetes.io/tls)");
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH.replace("gateways: [ istio-system/ingress ]", "gateways: [ ingress ]")))
        .hasMessageContaining("VirtualService/shop: spec.gateways[0]: no Gateway 'default/ingress'; expected mesh or the"
            + " NAMESPACE/NAME of an applied Gateway, known: [istio-system/ingress]");
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH.replace("tls: { mode: MUTUAL, credentialName: shop-cert }",
        "tls: { mode: MUTUAL, credentialName: no-ca }")))
        .hasMessageContaining("spec.servers[3].tls.credentialName: Gateway istio-system/ingress server 3: mode MUTUAL"
            + " needs the client CA in Secret 'no-ca' (data ca.crt), which it does not have");
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: plain, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers: [ { port: { number: 443, name: http, protocol: HTTP }, hosts: [ "*" ] } ]
        """)).hasMessageContaining("Gateway/istio-system/plain: spec.servers[0].port: port 443 is HTTP here and HTTPS in"
            + " Gateway istio-system/ingress, which selects the same proxies; expected one protocol per port");
    // A Secret in use cannot be deleted; the Gateway names it.
    PolicyStore store = store(secrets + "---\n" + MESH);
    assertThatThrownBy(() -> store.delete("Secret", "istio-system", "shop-cert", false))
        .hasMessageContaining("would break if Secret/istio-system/shop-cert were deleted")
        .hasMessageContaining("no Secret 'shop-cert'");
  }

  @Test
  void simpleAndMutualServersShareAPortEachWithItsOwnRouteConfigAndHttpsHostsDoNotRepeat() throws Exception {
    // SIMPLE (secure.example.com) beside MUTUAL ("*") on one port: each chain names its own server's route config, so a
    // client naming SIMPLE's SNI (no client certificate) cannot reach a host only the MUTUAL server serves.
    PolicySet state = store(secrets + "---\n" + MESH.replace("number: 8443, name: https-mtls", "number: 443, name: https-mtls"))
        .current();
    MeshResources r = gateway(state, Map.of("istio", "ingressgateway"));
    Listener https = listener(r, "0.0.0.0_443");
    assertThat(https.getFilterChainsList()).extracting(c -> c.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class)
        .getRds().getRouteConfigName()).containsExactly("https.443.https.ingress.istio-system", "https.443.https-mtls.ingress.istio-system");
    assertThat(https.getFilterChains(1).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class)
        .getRequireClientCertificate().getValue()).isTrue();
    assertThat(routes(r, "https.443.https.ingress.istio-system").getVirtualHostsList()).extracting(VirtualHost::getName)
        .containsExactly("secure.example.com:443");
    assertThat(routes(r, "https.443.https-mtls.ingress.istio-system").getVirtualHostsList()).extracting(VirtualHost::getName)
        .contains("shop.example.com:443");
    // The data plane takes it: one listener, a connection manager per chain.
    var snapshot = dataPlaneTakes(r, state, Map.of("istio", "ingressgateway"), "istio-system");
    assertThat(snapshot.warnings()).isEmpty();
    var l443 = snapshot.listeners().stream().filter(l -> l.name().equals("0.0.0.0_443")).findFirst().orElseThrow();
    assertThat(l443.sniCertificates()).extracting(c -> c.http() == null ? l443.http().routeConfig().name()
        : c.http().routeConfig().name()).containsExactly("https.443.https.ingress.istio-system", "https.443.https-mtls.ingress.istio-system");
    // Another Gateway of the same proxies repeating an HTTPS host of the port: two chains with one match.
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: again, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 443, name: https, protocol: HTTPS }
            hosts: [ other.example.com, secure.example.com ]
            tls: { mode: SIMPLE, credentialName: shop-cert }
        """)).hasMessageContaining("Gateway/istio-system/again: spec.servers[0].hosts: host secure.example.com on port 443"
            + " is also an HTTPS host of Gateway istio-system/ingress, which selects the same proxies; expected each HTTPS"
            + " host of a port in one server");
    // explain on the shared port answers from the route config of the server serving the Host (as its SNI would pick).
    assertThat(io.keelson.control.api.ExplainerAccess.explainGateway(r, "gw", 443, "shop.example.com", "/", Map.of(), "GET")
        .get("why").toString()).contains("'https.443.https-mtls.ingress.istio-system'");
    assertThat(io.keelson.control.api.ExplainerAccess.explainGateway(r, "gw", 443, "secure.example.com", "/", Map.of(), "GET")
        .get("why").toString()).contains("'https.443.https.ingress.istio-system'");
  }

  /** On an HTTPS port the gateway's requests are https: explain evaluates a scheme match as the gateway would. */
  @Test
  void explainOnAnHttpsPortTakesTheRequestsSchemeAsHttps() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH.replace("- match: [ { headers: { x-version: { exact: v2 } } } ]",
        "- match: [ { scheme: { exact: https } } ]")).current();
    MeshResources r = gateway(state, Map.of("istio", "ingressgateway"));
    assertThat(io.keelson.control.api.ExplainerAccess.explainGateway(r, "gw", 443, "secure.example.com", "/", Map.of(),
        "GET").get("clusters").toString()).as("TLS port: https").contains("product-service|v2");
    assertThat(io.keelson.control.api.ExplainerAccess.explainGateway(r, "gw", 80, "shop.example.com", "/", Map.of(),
        "GET").get("clusters").toString()).as("plain port: http").contains("product-service|v1");
  }

  @Test
  void gatewaysWhoseSelectorsCanMatchOneProxyAreCheckedTogetherAndDisjointOnesAreNot() throws Exception {
    // {istio: ingressgateway, app: edge} is a subset of the proxies of {istio: ingressgateway}: a proxy labelled with
    // both gets both Gateways' servers, so port 443 would be HTTPS and HTTP there (the HTTP server silently dropped).
    String narrower = """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway, app: %s }
          servers: [ { port: { number: 443, name: http, protocol: HTTP }, hosts: [ "*" ] } ]
        """;
    assertThatThrownBy(() -> store(secrets + "---\n" + MESH + narrower.formatted("edge")))
        .hasMessageContaining("Gateway/istio-system/edge: spec.servers[0].port: port 443 is HTTP here and HTTPS in"
            + " Gateway istio-system/ingress");
    // Selectors that disagree on a label select no proxy in common: no clash.
    store(secrets + "---\n" + MESH + narrower.formatted("edge").replace("istio: ingressgateway, app: edge",
        "istio: egressgateway"));
  }

  @Test
  void aGatewayRouteToAServiceEntryHostGoesToTheEntrysCluster() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api }
        spec:
          hosts: [ api.example.com ]
          resolution: STATIC
          ports: [ { number: 8080, name: http, protocol: HTTP } ]
          endpoints: [ { address: 127.0.0.1 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: to-api }
        spec:
          hosts: [ api.apps.example.com ]
          gateways: [ istio-system/ingress ]
          http:
          - route: [ { destination: { host: api.example.com } } ]
        """).current();
    MeshResources r = gateway(state, Map.of("istio", "ingressgateway"));
    VirtualHost api = vhost(routes(r, "http.80"), "api.apps.example.com:80");
    // istiod's outbound|<port>||<host>, the cluster the gateway is sent; before, the route named the bare host.
    assertThat(api.getRoutesList()).extracting(rt -> rt.getRoute().getCluster())
        .contains("outbound|8080||api.example.com");
    assertThat(r.clusters()).extracting(c -> c.getName()).contains("outbound|8080||api.example.com");
  }

  @Test
  void gatewaysAndSecretsSurviveARestartFromTheDataDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    PolicyStore first = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    first.apply(PolicyParser.parse("mesh.yaml", secrets + "---\n" + MESH).policies(), false);
    PolicyStore again = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    assertThat(again.current().ofType(io.keelson.control.policy.Policy.Secret.class)).hasSize(2);
    assertThat(gateway(again.current(), Map.of("istio", "ingressgateway")))
        .isEqualTo(gateway(first.current(), Map.of("istio", "ingressgateway")));
  }

  static final String GATEWAY_API = Mesh.registry(9001, 9002) + """
      ---
      apiVersion: v1
      kind: Secret
      metadata: { name: web-cert, namespace: edge }
      type: kubernetes.io/tls
      data: { tls.crt: %1$s, tls.key: %2$s }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: web, namespace: edge }
      spec:
        gatewayClassName: keelson
        listeners:
        - { name: http, port: 8080, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
        - name: https
          port: 8443
          protocol: HTTPS
          hostname: secure.example.com
          tls: { certificateRefs: [ { name: web-cert } ] }
          allowedRoutes: { namespaces: { from: All } }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: { name: shop }
      spec:
        parentRefs: [ { name: web, namespace: edge, sectionName: http } ]
        hostnames: [ shop.example.com ]
        rules:
        - matches: [ { headers: [ { name: x-version, value: v2 } ] } ]
          backendRefs: [ { name: product-service, port: 80 } ]
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: { name: secure }
      spec:
        parentRefs: [ { name: web, namespace: edge } ]
        rules: [ { backendRefs: [ { name: product-service, port: 80 } ] } ]
      """;

  @Test
  void gatewayApiGatewaysAndHttpRoutesTranslateOntoTheSameModel() throws Exception {
    PolicySet state = store(GATEWAY_API.formatted(b64(leaf.certPem()), b64(leaf.keyPem()))).current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        Map.of("gateway.networking.k8s.io/gateway-name", "web"), "0.0.0.0", "edge", true); // its token is of edge
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_8080", "0.0.0.0_8443");
    // "shop" is bound to listener http only; "secure" (no sectionName, no hostnames) to both, for every host.
    assertThat(routes(r, "http.8080").getVirtualHostsList()).extracting(VirtualHost::getName)
        .containsExactly("*:8080", "shop.example.com:8080");
    assertThat(vhost(routes(r, "http.8080"), "shop.example.com:8080").getRoutesList()).extracting(rt -> rt.getName())
        .containsExactly("HTTPRoute/shop/shop-0");
    assertThat(routes(r, "https.8443.https.web.edge").getVirtualHostsList()).extracting(VirtualHost::getName)
        .containsExactly("secure.example.com:8443");
    assertThat(listener(r, "0.0.0.0_8443").getFilterChains(0).getFilterChainMatch().getServerNamesList())
        .containsExactly("secure.example.com");
    // The HTTPRoutes are the gateway's only: sidecars do not route "shop.example.com".
    MeshResources sidecar = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(sidecar.routes().getFirst().getVirtualHostsList().stream().flatMap(v -> v.getRoutesList().stream())
        .map(rt -> rt.getName())).noneMatch(n -> n.startsWith("HTTPRoute/"));

    assertThatThrownBy(() -> store(GATEWAY_API.formatted(b64(leaf.certPem()), b64(leaf.keyPem()))
        .replace("sectionName: http", "sectionName: grpc")))
        .hasMessageContaining("HTTPRoute/shop: spec.parentRefs.sectionName: Gateway edge/web has no listener 'grpc';"
            + " expected one of [http, https]");
    assertThatThrownBy(() -> store(GATEWAY_API.formatted(b64(leaf.certPem()), b64(leaf.keyPem()))
        .replace("certificateRefs: [ { name: web-cert } ]", "certificateRefs: [ { name: nope } ]")))
        .hasMessageContaining("Gateway/edge/web: spec.listeners[1].tls.certificateRefs[0].name: Gateway edge/web"
            + " server 1: no Secret 'nope' in namespace edge");
  }

  @Test
  void tlsPassthroughAndTcpServersBecomeTcpProxyChains() throws Exception {
    PolicySet state = store(Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: edge }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 443, name: tls, protocol: TLS }
            hosts: [ "*.example.com" ]
            tls: { mode: PASSTHROUGH }
          - port: { number: 5432, name: tcp, protocol: TCP }
            hosts: [ "*" ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: streams }
        spec:
          hosts: [ "*.example.com" ]
          gateways: [ edge ]
          tls:
          - match: [ { port: 443, sniHosts: [ a.example.com, b.example.com ] } ]
            route: [ { destination: { host: product-service }, weight: 80 }, { destination: { host: db }, weight: 20 } ]
          - match: [ { port: 443, sniHosts: [ a.example.com, c.other.org ] } ]
            route: [ { destination: { host: db } } ]
          tcp:
          - match: [ { port: 5432 } ]
            route: [ { destination: { host: db } } ]
        """).current();
    MeshResources r = gateway(state, Map.of("istio", "ingressgateway"));
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_443", "0.0.0.0_5432");
    assertThat(r.routes()).isEmpty();
    Listener tls = listener(r, "0.0.0.0_443");
    assertThat(tls.getListenerFiltersList()).extracting(f -> f.getName()).containsExactly("envoy.filters.listener.tls_inspector");
    // The first rule takes a.example.com; c.other.org is outside the server's hosts; the second rule has nothing left.
    assertThat(tls.getFilterChainsList()).extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList()))
        .containsExactly(List.of("a.example.com", "b.example.com"));
    var proxy = tls.getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class);
    assertThat(proxy.getWeightedClusters().getClustersList()).extracting(c -> c.getName() + "=" + c.getWeight())
        .containsExactly("product-service=80", "db=20");
    assertThat(tls.getFilterChains(0).hasTransportSocket()).as("passthrough: the gateway terminates nothing").isFalse();
    var tcp = listener(r, "0.0.0.0_5432").getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class);
    assertThat(tcp.getCluster()).isEqualTo("db");
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints = new java.util.LinkedHashMap<>();
    r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    var snapshot = io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("test",
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(), Map.of(),
        r.clusters(), endpoints);
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(snapshot.listeners()).hasSize(2);
  }

  /** A tls rule's matches each bind their own SNI names to their own gateways: gw-a never relays gw-b's names. */
  @Test
  void eachTlsMatchRelaysItsOwnSniNamesOnlyOnItsOwnGateways() throws Exception {
    String gateways = """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: gw-a }
        spec:
          selector: { istio: gw-a }
          servers: [ { port: { number: 443, name: tls, protocol: TLS }, hosts: [ "*.example.com" ], tls: { mode: PASSTHROUGH } } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: gw-b }
        spec:
          selector: { istio: gw-b }
          servers: [ { port: { number: 443, name: tls, protocol: TLS }, hosts: [ "*.example.com" ], tls: { mode: PASSTHROUGH } } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: streams }
        spec:
          hosts: [ "*.example.com" ]
          gateways: [ gw-a, gw-b ]
          tls:
          - match: [ { gateways: [ gw-a ], sniHosts: [ a.example.com ] }, { gateways: [ gw-b ], sniHosts: [ b.example.com ] } ]
            route: [ { destination: { host: product-service } } ]
        """;
    PolicySet state = store(Mesh.registry(9001, 9002) + gateways).current();
    for (String gw : List.of("a", "b")) {
      MeshResources r = gateway(state, Map.of("istio", "gw-" + gw));
      assertThat(listener(r, "0.0.0.0_443").getFilterChainsList())
          .extracting(c -> List.copyOf(c.getFilterChainMatch().getServerNamesList())).as("gw-" + gw)
          .containsExactly(List.of(gw + ".example.com"));
      assertThat(dataPlaneTakes(r, state, Map.of("istio", "gw-" + gw), "default").warnings()).isEmpty();
    }
  }

  @Test
  void theIngressExampleAppliesWithTheMeshExamplesAndASecret() throws Exception {
    StringBuilder all = new StringBuilder();
    try (var files = java.nio.file.Files.list(java.nio.file.Path.of("..", "examples", "mesh"))) {
      for (var f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        all.append(java.nio.file.Files.readString(f)).append("\n---\n");
      }
    }
    all.append(java.nio.file.Files.readString(java.nio.file.Path.of("..", "examples", "ingress", "ingress-gateway.yaml")));
    all.append("\n---\n").append(secrets); // Secret shop-cert, as kubectl writes it
    var parsed = PolicyParser.parse("examples", all.toString());
    assertThat(parsed.warnings()).isEmpty();
    PolicyStore store = new PolicyStore();
    store.apply(parsed.policies(), false);
    MeshResources r = gateway(store.current(), Map.of("istio", "ingressgateway"));
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_8080", "0.0.0.0_8443");
    assertThat(vhost(routes(r, "http.8080"), "shop.example.com:8080").getRoutes(0).getRedirect().getHttpsRedirect()).isTrue();
    assertThat(vhost(routes(r, "https.8443.https.ingress.istio-system"), "shop.example.com:8443").getRoutesList())
        .extracting(rt -> rt.getRoute().getCluster()).containsExactly("product-service|v2", "product-service|v1");
  }

  @Test
  void proxyConfigRedactsPrivateKeys() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH).current();
    Listener https = listener(gateway(state, Map.of("istio", "ingressgateway")), "0.0.0.0_443");
    String keyLine = leaf.keyPem().lines().skip(1).findFirst().orElseThrow();
    assertThat(https.toString()).as("the listener names the key, never holds it").doesNotContain(keyLine.substring(0, 20));
    var secret = GatewaySecrets.forGateway(state, Map.of("istio", "ingressgateway"), "istio-system").secrets().getFirst();
    String json = com.google.protobuf.util.JsonFormat.printer().print(secret);
    assertThat(json).contains(keyLine.substring(0, 20)); // what the gateway is served over SDS
    var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
    assertThat(GatewayTls.redactKeys(tree).toString()).doesNotContain(keyLine.substring(0, 20)).contains("[redacted]")
        .contains("BEGIN CERTIFICATE");
  }
  @Test
  void aTcpServerRelaysToTheFirstTcpRuleOfAVirtualServiceSharingOneOfItsHosts() throws Exception {
    String yaml = Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: edge }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 5432, name: tcp, protocol: TCP }
            hosts: [ db.example.com ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: a-elsewhere }
        spec:
          hosts: [ other.example.com ]
          gateways: [ edge ]
          tcp: [ { route: [ { destination: { host: product-service } } ] } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: b-db }
        spec:
          hosts: [ db.example.com ]
          gateways: [ edge ]
          tcp: [ { route: [ { destination: { host: db } } ] } ]
        """;
    // istiod's pickMatchingGatewayHosts, as for a terminating TLS server: a-elsewhere comes first by name but shares no
    // host with the server, so b-db's rule is the one relayed to.
    MeshResources r = gateway(store(yaml).current(), Map.of("istio", "ingressgateway"));
    assertThat(listener(r, "0.0.0.0_5432").getFilterChainsList()).singleElement()
        .satisfies(c -> assertThat(c.getName()).isEqualTo("outbound_0.0.0.0_5432|b-db"));
  }
}
