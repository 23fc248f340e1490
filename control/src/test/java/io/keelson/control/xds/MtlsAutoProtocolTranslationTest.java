package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.dataplane.config.ProtocolChains;
import io.keelson.dataplane.config.ProxySnapshot;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The inbound chains of a port with no declared protocol on a captured sidecar with an identity, in istiod's shape:
 * mTLS chains chosen by the ALPN the client sidecar offers (HTTP for {@code istio-http/*}, {@code istio-h2}; TCP
 * otherwise), plus under PERMISSIVE plaintext chains chosen by the http_inspector; each runs the policies of its
 * protocol (HTTP RBAC, network RBAC). Checked as Envoy fields and through the data plane's own xDS translation.
 */
class MtlsAutoProtocolTranslationTest {
  private static final String ID = "spiffe://cluster.local/ns/shop/sa/reviews";
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { port: 9080 } ] }
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: no-admin, namespace: shop }
      spec:
        action: DENY
        rules: [ { to: [ { operation: { paths: [ "/admin" ] } } ] } ]
      """;
  private static final String STRICT = """
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: shop }
      spec: { mtls: { mode: STRICT } }
      """;

  @Test
  void strictHasAnMtlsHttpChainByIstioAlpnAndAnMtlsTcpChainEachWithItsRbac() throws Exception {
    MeshResources r = inbound(SERVICES + STRICT);
    Listener inbound = CapturedTranslationTest.listener(r, CapturedListeners.VIRTUAL_INBOUND);
    assertThat(inbound.getListenerFiltersList()).extracting(ListenerFilter::getName).containsExactly(
        CapturedListeners.ORIGINAL_DST_FILTER, "envoy.filters.listener.tls_inspector",
        DetectedProtocolListeners.HTTP_INSPECTOR);
    List<FilterChain> app = appChains(inbound);
    assertThat(app).extracting(FilterChain::getName).containsExactly("inbound|9080", "inbound|9080|tcp");
    FilterChain http = app.get(0);
    assertThat(http.getFilterChainMatch().getTransportProtocol()).isEqualTo("tls");
    assertThat(http.getFilterChainMatch().getApplicationProtocolsList())
        .containsExactly("istio-http/1.0", "istio-http/1.1", "istio-h2");
    assertThat(alpn(http)).containsExactly("h2", "http/1.1");
    assertThat(http.getFilters(0).getName()).isEqualTo("envoy.filters.network.http_connection_manager");
    assertThat(http.getFilters(0).getTypedConfig().toString()).contains("envoy.filters.http.rbac");
    FilterChain tcp = app.get(1);
    assertThat(tcp.getFilterChainMatch().getTransportProtocol()).isEqualTo("tls");
    assertThat(tcp.getFilterChainMatch().getApplicationProtocolsCount()).isZero();
    assertThat(alpn(tcp)).isEmpty();
    assertThat(tcp.getFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
    assertThat(tcp.getFilters(1).getTypedConfig().unpack(TcpProxy.class).getCluster()).isEqualTo("inbound|9080");

    // The data plane takes it (no NACK): chains by transport protocol and ALPN.
    ProtocolChains chains = protocolChains(r);
    assertThat(chains.inspectsTls()).isTrue();
    assertThat(chains.select("tls", List.of("istio-http/1.1", "istio", "http/1.1")).http()).isNotNull();
    assertThat(chains.select("tls", List.of("istio")).tcpProxy()).isNotNull();
    assertThat(chains.select("tls", List.of("istio")).tls()).as("terminates mTLS").isNotNull();
    assertThat(chains.select("http/1.1")).as("STRICT: no plaintext").isNull();
  }

  @Test
  void permissiveAddsPlaintextHttpAndTcpChainsSelectedByTheHttpInspector() throws Exception {
    MeshResources r = inbound(SERVICES);
    List<FilterChain> app = appChains(CapturedTranslationTest.listener(r, CapturedListeners.VIRTUAL_INBOUND));
    assertThat(app).extracting(FilterChain::getName).containsExactly("inbound|9080", "inbound|9080|tcp",
        "inbound|9080|plaintext", "inbound|9080|plaintext|tcp");
    assertThat(app.get(2).getFilterChainMatch().getTransportProtocol()).isEqualTo("raw_buffer");
    assertThat(app.get(2).getFilterChainMatch().getApplicationProtocolsList()).containsExactly("http/1.0", "http/1.1", "h2c");
    assertThat(app.get(2).hasTransportSocket()).isFalse();
    assertThat(app.get(2).getFilters(0).getTypedConfig().toString()).as("plaintext HTTP: the HTTP RBAC too")
        .contains("envoy.filters.http.rbac");
    assertThat(app.get(3).getFilterChainMatch().getTransportProtocol()).isEqualTo("raw_buffer");
    assertThat(app.get(3).getFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
    ProtocolChains chains = protocolChains(r);
    assertThat(chains.select("h2c").http()).isNotNull();
    assertThat(chains.select("h2c").tls()).isNull();
    assertThat(chains.select(null).tcpProxy()).isNotNull();
    assertThat(chains.select("tls", List.of("istio-h2", "istio", "h2")).http()).isNotNull();
  }

  private static final io.keelson.control.security.ExtensionProviders PROVIDERS =
      io.keelson.control.security.ExtensionProviders.parse("mesh.yaml", """
          extensionProviders:
          - name: authz-grpc
            envoyExtAuthzGrpc: { service: 127.0.0.1, port: 9191, timeout: 2s }
          - name: authz-http
            envoyExtAuthzHttp: { service: 127.0.0.1, port: 9192, timeout: 2s }
          """);
  private static final String CUSTOM = """
      ---
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: ext, namespace: shop }
      spec:
        action: CUSTOM
        provider: { name: %s }
        rules: [ { to: [ { operation: { paths: [ "/checked" ] } } ] } ]
      """;

  /**
   * An HTTP-only CUSTOM provider checks the detected-HTTP chains but not the TCP ones (as istiod), so a client offering
   * ALPN istio reaches the app unchecked: the proxy's status says so; a gRPC provider checks both and nothing is said.
   */
  @Test
  void anHttpOnlyCustomProviderLeavesTheTcpChainsUncheckedAndTheStatusSaysSo() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("p.yaml", SERVICES + STRICT + CUSTOM.formatted("authz-http"))
        .policies());
    ExtAuthzClusters extAuthz = ExtAuthzClusters.of(PROVIDERS, state, List.of());
    MeshResources r = MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(state, List.of(), Map.of(), true), state, SELF, extAuthz);
    List<FilterChain> app = appChains(CapturedTranslationTest.listener(r, CapturedListeners.VIRTUAL_INBOUND));
    assertThat(app.get(0).getFilters(0).getTypedConfig().toString()).contains("envoy.filters.http.ext_authz");
    assertThat(app.get(1).getFiltersList()).extracting(f -> f.getName()).as("the mTLS TCP chain (ALPN istio)")
        .containsExactly("envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy");
    assertThat(MeshTranslator.custom(state, SELF, extAuthz).ignoredProvider()).as("the HTTP variant skips nothing")
        .isNull();
    String skipped = MeshTranslator.providerSkippedOnAutoTcp(state, SELF, extAuthz);
    assertThat(skipped).isEqualTo("authz-http");
    assertThat(ProxyStatus.httpProviderOnAutoPortWarning(skipped)).contains("'authz-http' is envoyExtAuthzHttp",
        "undeclared protocol", "ALPN istio");

    PolicySet grpc = PolicySet.EMPTY.with(PolicyParser.parse("p.yaml", SERVICES + STRICT + CUSTOM.formatted("authz-grpc"))
        .policies());
    ExtAuthzClusters grpcAuthz = ExtAuthzClusters.of(PROVIDERS, grpc, List.of());
    assertThat(MeshTranslator.providerSkippedOnAutoTcp(grpc, SELF, grpcAuthz)).isNull();
    MeshResources checked = MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(grpc, List.of(), Map.of(), true), grpc, SELF, grpcAuthz);
    assertThat(appChains(CapturedTranslationTest.listener(checked, CapturedListeners.VIRTUAL_INBOUND)).get(1)
        .getFiltersList()).extracting(f -> f.getName()).contains("envoy.filters.network.ext_authz");
    // A declared HTTP port has no TCP chain: nothing to say.
    PolicySet declared = PolicySet.EMPTY.with(PolicyParser.parse("p.yaml", SERVICES.replace("{ port: 9080 }",
        "{ name: http, port: 9080 }") + STRICT + CUSTOM.formatted("authz-http")).policies());
    assertThat(MeshTranslator.providerSkippedOnAutoTcp(declared, SELF, ExtAuthzClusters.of(PROVIDERS, declared,
        List.of()))).isNull();
  }

  private static final MeshTranslator.Self SELF = new MeshTranslator.Self(ID, 15006, 9080, Map.of(), false,
      new NodeRegistration.Capture("10.1.0.7", 9080, 15006, 15001), "reviews");

  private static MeshResources inbound(String policies) throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("p.yaml", policies).policies());
    return MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(state, List.of(), Map.of(), true), state, SELF, ExtAuthzClusters.NONE);
  }

  private static List<FilterChain> appChains(Listener inbound) {
    return inbound.getFilterChainsList().stream()
        .filter(c -> c.getFilterChainMatch().getDestinationPort().getValue() == 9080).toList();
  }

  private static List<String> alpn(FilterChain c) throws Exception {
    return c.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext()
        .getAlpnProtocolsList();
  }

  /** The data plane's translation of virtualInbound's app-port chains. */
  private static ProtocolChains protocolChains(MeshResources r) throws Exception {
    ProxySnapshot s = Mesh.dataPlaneWithIdentity(r, "shop", "reviews");
    var inbound = s.listeners().stream().filter(l -> l.name().equals(CapturedListeners.VIRTUAL_INBOUND)).findFirst()
        .orElseThrow();
    return inbound.destinationChains().all().stream().filter(c -> c.protocolChains() != null).findFirst().orElseThrow()
        .protocolChains();
  }
}
