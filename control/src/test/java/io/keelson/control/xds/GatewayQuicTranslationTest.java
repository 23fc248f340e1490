package io.keelson.control.xds;

import static io.keelson.control.xds.GatewayTranslationTest.MESH;
import static io.keelson.control.xds.GatewayTranslationTest.dataPlaneTakes;
import static io.keelson.control.xds.GatewayTranslationTest.listener;
import static io.keelson.control.xds.GatewayTranslationTest.routes;
import static io.keelson.control.xds.GatewayTranslationTest.secrets;
import static io.keelson.control.xds.GatewayTranslationTest.store;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.keelson.control.store.PolicySet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * istiod's {@code PILOT_ENABLE_QUIC_LISTENERS} on ingress gateways: an HTTPS server that terminates TLS gets a UDP
 * mirror of its port (QUIC chain, same certificate over SDS, same routes over HTTP/3) and its routes advertise it.
 */
class GatewayQuicTranslationTest {
  static final Map<String, String> LABELS = Map.of("istio", "ingressgateway");

  @BeforeAll
  static void certificates() throws Exception {
    GatewayTranslationTest.certificates();
  }

  static MeshResources gateway(PolicySet state, boolean quic) {
    return GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state, LABELS,
        "0.0.0.0", "istio-system", true, quic, new DistinctDomains());
  }

  static DownstreamTlsContext quicTls(FilterChain c) throws Exception {
    assertThat(c.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.quic");
    return c.getTransportSocket().getTypedConfig().unpack(QuicDownstreamTransport.class).getDownstreamTlsContext();
  }

  static HttpConnectionManager hcm(FilterChain c) throws Exception {
    assertThat(c.getFiltersList()).hasSize(1);
    return c.getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
  }

  static List<String> altSvc(RouteConfiguration rc) {
    return rc.getVirtualHostsList().stream().flatMap(vh -> vh.getRoutesList().stream())
        .map(Route::getResponseHeadersToAddList)
        .map(h -> h.stream().filter(o -> o.getHeader().getKey().equals("alt-svc")).map(o -> o.getHeader().getValue())
            .findFirst().orElse("none"))
        .toList();
  }

  @Test
  void simpleAndMutualHttpsServersGetAUdpMirrorOfTheirPortAndAdvertiseIt() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH).current();
    MeshResources r = gateway(state, true);
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_80", "0.0.0.0_443",
        "udp_0.0.0.0_443", "0.0.0.0_8443", "udp_0.0.0.0_8443");

    Listener simple = listener(r, "udp_0.0.0.0_443");
    assertThat(simple.getAddress().getSocketAddress().getProtocol()).isEqualTo(SocketAddress.Protocol.UDP);
    assertThat(simple.getAddress().getSocketAddress().getPortValue()).isEqualTo(443);
    assertThat(simple.getUdpListenerConfig().hasQuicOptions()).isTrue();
    assertThat(simple.getListenerFiltersList()).isEmpty();
    FilterChain chain = simple.getFilterChains(0);
    FilterChain tcp = listener(r, "0.0.0.0_443").getFilterChains(0);
    assertThat(chain.getFilterChainMatch()).isEqualTo(tcp.getFilterChainMatch());
    assertThat(chain.getFilterChainMatch().getServerNamesList()).containsExactly("secure.example.com");
    DownstreamTlsContext tls = quicTls(chain);
    assertThat(tls.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("h3");
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("kubernetes://istio-system/shop-cert");
    assertThat(tls.getCommonTlsContext().getTlsParams()).isEqualTo(tcp.getTransportSocket().getTypedConfig()
        .unpack(DownstreamTlsContext.class).getCommonTlsContext().getTlsParams());
    assertThat(tls.hasRequireClientCertificate()).isFalse();
    HttpConnectionManager h3 = hcm(chain);
    assertThat(h3.getCodecType()).isEqualTo(HttpConnectionManager.CodecType.HTTP3);
    assertThat(h3.hasHttp3ProtocolOptions()).isTrue();
    assertThat(h3.toBuilder().clearCodecType().clearHttp3ProtocolOptions().build()).as("else the TCP chain's")
        .isEqualTo(hcm(tcp));
    assertThat(h3.getRds().getRouteConfigName()).isEqualTo("https.443.https.ingress.istio-system");

    DownstreamTlsContext mutual = quicTls(listener(r, "udp_0.0.0.0_8443").getFilterChains(0));
    assertThat(mutual.getRequireClientCertificate().getValue()).isTrue();
    assertThat(mutual.getCommonTlsContext().getValidationContextSdsSecretConfig().getName())
        .isEqualTo("kubernetes://istio-system/shop-cert-cacert");

    // alt-svc on every route of the HTTPS servers, as istiod's IsHTTP3AltSvcHeaderNeeded; not on plaintext HTTP
    assertThat(altSvc(routes(r, "https.443.https.ingress.istio-system"))).isNotEmpty()
        .containsOnly("h3=\":443\"; ma=86400");
    assertThat(altSvc(routes(r, "https.8443.https-mtls.ingress.istio-system"))).containsOnly("h3=\":8443\"; ma=86400");
    assertThat(altSvc(routes(r, "http.80"))).containsOnly("none");
    // the TCP listeners are those without the flag
    MeshResources off = gateway(state, false);
    assertThat(listener(r, "0.0.0.0_443")).isEqualTo(listener(off, "0.0.0.0_443"));

    // explain --gateway: the HTTPS port's route configuration, served over HTTP/3 too
    assertThat(io.keelson.control.api.ExplainerAccess.explainGateway(r, "gw", 443, "secure.example.com", "/", Map.of(),
        "GET").get("why").toString()).contains("uses its route configuration 'https.443.https.ingress.istio-system'")
        .contains("over HTTP/3 too: its QUIC listener 'udp_0.0.0.0_443' (UDP port 443) serves the same routes");
    assertThat(io.keelson.control.api.ExplainerAccess.explainGateway(off, "gw", 443, "secure.example.com", "/", Map.of(),
        "GET").get("why").toString()).doesNotContain("HTTP/3");

    // the data plane takes the UDP listeners as HTTP/3 listeners
    var snapshot = dataPlaneTakes(r, state, LABELS, "istio-system");
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(snapshot.quicListeners()).containsOnlyKeys("udp_0.0.0.0_443", "udp_0.0.0.0_8443");
  }

  @Test
  void withTheFlagOffNothingChanges() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH).current();
    MeshResources off = gateway(state, false);
    MeshResources before = GatewayTranslationTest.gateway(state, LABELS);
    assertThat(off.listeners()).isEqualTo(before.listeners());
    assertThat(off.routes()).isEqualTo(before.routes());
    assertThat(off.listeners()).noneMatch(Listener::hasUdpListenerConfig);
    assertThat(off.routes()).allSatisfy(rc -> assertThat(altSvc(rc)).containsOnly("none"));
  }

  static final String TWO_SERVERS = """
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: multi, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers:
        - port: { number: 9443, name: https-a, protocol: HTTPS }
          hosts: [ a.example.com ]
          tls: { mode: SIMPLE, credentialName: shop-cert }
        - port: { number: 9443, name: https-b, protocol: HTTPS }
          hosts: [ "*.b.example.com" ]
          tls: { mode: SIMPLE, credentialName: no-ca }
        - port: { number: 9443, name: https-m, protocol: HTTPS }
          hosts: [ m.example.com ]
          tls: { mode: MUTUAL, credentialName: shop-cert }
        - port: { number: 9443, name: tls-pass, protocol: TLS }
          hosts: [ pass.example.com ]
          tls: { mode: PASSTHROUGH }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: multi }
      spec:
        hosts: [ "*.example.com" ]
        gateways: [ istio-system/multi ]
        http: [ { route: [ { destination: { host: product-service, subset: v1 } } ] } ]
      """;

  @Test
  void severalHttpsServersOnAPortAreChainsBySniAndOnesRequiringClientCertificatesStayTcp() throws Exception {
    PolicySet state = store(secrets + "---\n" + MESH + TWO_SERVERS).current();
    MeshResources r = gateway(state, true);
    Listener udp = listener(r, "udp_0.0.0.0_9443");
    assertThat(udp.getFilterChainsList()).extracting(c -> c.getFilterChainMatch().getServerNamesList() + " "
        + quicTls(c).getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName() + " "
        + hcm(c).getRds().getRouteConfigName())
        .containsExactly("[a.example.com] kubernetes://istio-system/shop-cert https.9443.https-a.multi.istio-system",
            "[*.b.example.com] kubernetes://istio-system/no-ca https.9443.https-b.multi.istio-system");
    assertThat(altSvc(routes(r, "https.9443.https-a.multi.istio-system"))).containsOnly("h3=\":9443\"; ma=86400");
    assertThat(altSvc(routes(r, "https.9443.https-m.multi.istio-system"))).containsOnly("none");
    var snapshot = dataPlaneTakes(r, state, LABELS, "istio-system");
    assertThat(snapshot.quicListeners()).containsKey("udp_0.0.0.0_9443");
  }

  @Test
  void gatewayApiHttpsListenersAreMirroredAsIstiodsConvertedServersAndProxyProtocolStaysOnTcp() throws Exception {
    // istiod turns a Gateway API Gateway into Istio servers before merging, so its HTTPS listeners get the mirror too
    PolicySet state = store(GatewayTranslationTest.GATEWAY_API.formatted(GatewayTranslationTest.b64(
        GatewayTranslationTest.leaf.certPem()), GatewayTranslationTest.b64(GatewayTranslationTest.leaf.keyPem())))
        .current();
    MeshResources r = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(state, List.of()), state,
        Map.of("gateway.networking.k8s.io/gateway-name", "web"), "0.0.0.0", "edge", true, true, new DistinctDomains());
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("0.0.0.0_8080", "0.0.0.0_8443",
        "udp_0.0.0.0_8443");
    FilterChain chain = listener(r, "udp_0.0.0.0_8443").getFilterChains(0);
    assertThat(chain.getFilterChainMatch().getServerNamesList()).containsExactly("secure.example.com");
    assertThat(quicTls(chain).getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("kubernetes://edge/web-cert");
    assertThat(hcm(chain).getRds().getRouteConfigName()).isEqualTo("https.8443.https.web.edge");
    assertThat(altSvc(routes(r, "https.8443.https.web.edge"))).containsOnly("h3=\":8443\"; ma=86400");
    assertThat(altSvc(routes(r, "http.8080"))).containsOnly("none");

    // meshConfig gatewayTopology.proxyProtocol: istiod reads PROXY headers on TCP listeners only
    MeshResources proxied = GatewayProxyProtocol.apply(r);
    assertThat(listener(proxied, "0.0.0.0_8443").getListenerFilters(0).getName()).isEqualTo(GatewayProxyProtocol.FILTER);
    assertThat(listener(proxied, "udp_0.0.0.0_8443").getListenerFiltersList()).isEmpty();
  }
}
