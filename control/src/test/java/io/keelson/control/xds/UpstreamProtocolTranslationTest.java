package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.dataplane.config.ProxySnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The upstream HTTP protocol per service port protocol and DestinationRule (istiod's choices: HTTP2 and GRPC ports,
 * {@code h2UpgradePolicy}), the ALPN of mTLS clusters and inbound chains, the sidecar's app cluster, and bad input.
 * Clusters are checked as Envoy fields and through the data plane's own xDS translation (nothing a proxy would NACK).
 */
class UpstreamProtocolTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: grpc-echo }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: stream }
      spec: { ports: [ { name: api, port: 8443, protocol: HTTP2 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: mixed }
      spec: { ports: [ { name: http, port: 80 }, { name: grpc-admin, port: 9000 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec: { ports: [ { name: tcp, port: 5432 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: grpc-echo-1 }
      spec: { service: grpc-echo, address: 127.0.0.1, port: 15006 }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: web-1 }
      spec: { service: web, address: 127.0.0.1, port: 15007 }
      """;
  private static final String ECHO_ID = "spiffe://cluster.local/ns/shop/sa/echo";
  private static final String WEB_ID = "spiffe://cluster.local/ns/shop/sa/web";

  private static PolicySet state(String extra) throws Exception {
    List<Policy> all = new ArrayList<>(PolicyParser.parse("services.yaml", SERVICES).policies());
    if (extra != null) {
      all.addAll(PolicyParser.parse("policy.yaml", extra).policies());
    }
    return PolicySet.EMPTY.with(all);
  }

  private static Cluster cluster(MeshResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  private static HttpProtocolOptions options(Cluster c) throws Exception {
    var any = c.getTypedExtensionProtocolOptionsMap().get("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
    return any == null ? null : any.unpack(HttpProtocolOptions.class);
  }

  private static ProxySnapshot dataPlane(MeshResources r) throws Exception {
    return Mesh.dataPlane(r);
  }

  @Test
  void grpcAndHttp2PortsGetHttp2ClustersWhileHttpAndTcpOnesKeepHttp11() throws Exception {
    MeshResources r = new MeshTranslator(15001, false).translate(state(null), List.of());
    for (String h2 : List.of("grpc-echo", "stream", "mixed")) {
      HttpProtocolOptions o = options(cluster(r, h2));
      assertThat(o).as(h2).isNotNull();
      assertThat(o.getExplicitHttpConfig().hasHttp2ProtocolOptions()).as(h2).isTrue();
      assertThat(o.getExplicitHttpConfig().getHttp2ProtocolOptions().hasMaxConcurrentStreams()).as(h2).isFalse();
      assertThat(o.hasCommonHttpProtocolOptions()).as(h2).isFalse();
    }
    assertThat(options(cluster(r, "web"))).isNull(); // Envoy's default: HTTP/1.1
    assertThat(options(cluster(r, "db"))).isNull();

    ProxySnapshot s = dataPlane(r);
    assertThat(s.clusters().get("grpc-echo").http2()).isNotNull();
    assertThat(s.clusters().get("stream").http2()).isNotNull();
    assertThat(s.clusters().get("mixed").http2()).isNotNull();
    assertThat(s.clusters().get("web").http2()).isNull();
    assertThat(s.clusters().get("db").http2()).isNull();
  }

  @Test
  void h2UpgradePolicyUpgradeMakesAnHttpServiceAndItsSubsetsHttp2WithThePoolSettings() throws Exception {
    MeshResources r = new MeshTranslator(15001, false).translate(state("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: web }
        spec:
          host: web
          trafficPolicy:
            connectionPool:
              http: { h2UpgradePolicy: UPGRADE, http2MaxRequests: 100, maxConcurrentStreams: 64, idleTimeout: 45s }
          subsets: [ { name: v1, labels: { version: v1 } } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: grpc-echo }
        spec:
          host: grpc-echo
          trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: DO_NOT_UPGRADE, useClientProtocol: false } } }
        """), List.of());
    for (String name : List.of("web", "web|v1")) {
      Cluster c = cluster(r, name);
      HttpProtocolOptions o = options(c);
      assertThat(o.getExplicitHttpConfig().getHttp2ProtocolOptions().getMaxConcurrentStreams().getValue()).isEqualTo(64);
      assertThat(o.getCommonHttpProtocolOptions().getIdleTimeout().getSeconds()).isEqualTo(45);
      assertThat(c.getCircuitBreakers().getThresholds(0).getMaxRequests().getValue()).isEqualTo(100);
    }
    // As istiod: DO_NOT_UPGRADE does not turn a GRPC port's hop into HTTP/1.1 (gRPC needs HTTP/2).
    assertThat(options(cluster(r, "grpc-echo")).getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();

    ProxySnapshot s = dataPlane(r);
    for (String name : List.of("web", "web|v1")) {
      assertThat(s.clusters().get(name).http2().maxConcurrentStreams()).isEqualTo(64);
      assertThat(s.clusters().get(name).idleTimeout()).isEqualTo(Duration.ofSeconds(45));
    }
  }

  @Test
  void anIdleTimeoutAloneKeepsAnExplicitHttp11Cluster() throws Exception {
    MeshResources r = new MeshTranslator(15001, false).translate(state("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: web }
        spec: { host: web, trafficPolicy: { connectionPool: { http: { idleTimeout: 20s, maxConcurrentStreams: 8 } } } }
        """), List.of());
    HttpProtocolOptions o = options(cluster(r, "web"));
    assertThat(o.getExplicitHttpConfig().hasHttpProtocolOptions()).isTrue();
    assertThat(o.getCommonHttpProtocolOptions().getIdleTimeout().getSeconds()).isEqualTo(20);
    ProxySnapshot s = dataPlane(r);
    assertThat(s.clusters().get("web").http2()).isNull();
    assertThat(s.clusters().get("web").idleTimeout()).isEqualTo(Duration.ofSeconds(20));
  }

  @Test
  void mtlsToAnHttp2ServiceOffersH2ByAlpnAndTheSidecarsAppClusterFollowsItsPort() throws Exception {
    PolicySet state = state(null);
    MeshTranslator.Self echo = new MeshTranslator.Self(ECHO_ID, 15006, 7070, Map.of(), false, null, "grpc-echo");
    MeshTranslator.Self web = new MeshTranslator.Self(WEB_ID, 15007, 8080, Map.of(), false, null, "web");
    Map<String, MeshTranslator.Self> ids = Map.of("grpc-echo-1", echo, "web-1", web);

    MeshResources forEcho = inbound(state, ids, echo);
    UpstreamTlsContext h2 = cluster(forEcho, "grpc-echo").getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(h2.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("istio-peer-exchange", "istio", "h2");
    UpstreamTlsContext h1 = cluster(forEcho, "web").getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
    assertThat(h1.getCommonTlsContext().getAlpnProtocolsList()).as("ALPNInMeshWithMxc").containsExactly("istio-peer-exchange", "istio");
    // Its app (the Service's only port is GRPC) over HTTP/2: a CDS cluster replacing the bootstrap's inbound|app.
    Cluster app = cluster(forEcho, MeshMtls.APP_CLUSTER);
    assertThat(options(app).getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
    assertThat(app.getLoadAssignment().getClusterName()).isEqualTo(MeshMtls.APP_CLUSTER);
    assertThat(app.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress()
        .getPortValue()).isEqualTo(7070);
    // The inbound HTTP chains accept h2 by ALPN (PERMISSIVE: the TLS chain).
    Listener inbound = forEcho.listeners().stream().filter(l -> l.getName().equals("inbound")).findFirst().orElseThrow();
    FilterChain tls = inbound.getFilterChainsList().stream().filter(FilterChain::hasTransportSocket).findFirst().orElseThrow();
    assertThat(tls.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext()
        .getAlpnProtocolsList()).containsExactly("h2", "http/1.1");

    // An HTTP app keeps the bootstrap's HTTP/1.1 app cluster (none is pushed).
    MeshResources forWeb = inbound(state, ids, web);
    assertThat(forWeb.clusters()).noneMatch(c -> c.getName().equals(MeshMtls.APP_CLUSTER));

    // A sidecar without an identity: the same app cluster, added to the shared resources only for an HTTP/2 app.
    MeshResources shared = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(options(cluster(MeshTranslator.withApp(shared, state, "grpc-echo", 7070), MeshMtls.APP_CLUSTER))
        .getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
    assertThat(MeshTranslator.withApp(shared, state, "web", 8080)).isSameAs(shared);
    assertThat(MeshTranslator.withApp(shared, state, "mixed", 8080)).as("app port in no Service port, several ports")
        .isSameAs(shared);
  }

  @Test
  void aTcpInboundChainOffersNoHttpAlpnAndACapturedGrpcAppGetsAnHttp2AppCluster() throws Exception {
    PolicySet state = state(null);
    MeshTranslator.Self db = new MeshTranslator.Self("spiffe://cluster.local/ns/shop/sa/db", 15006, 5432, Map.of(),
        false, null, "db");
    MeshResources forDb = inbound(state, Map.of(), db);
    Listener inbound = forDb.listeners().stream().filter(l -> l.getName().equals("inbound")).findFirst().orElseThrow();
    FilterChain tls = inbound.getFilterChainsList().stream().filter(FilterChain::hasTransportSocket).findFirst().orElseThrow();
    assertThat(tls.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext()
        .getAlpnProtocolsList()).as("only the TCP metadata exchange's").containsExactly("istio-peer-exchange");
    assertThat(forDb.clusters()).noneMatch(c -> c.getName().equals(MeshMtls.APP_CLUSTER));

    MeshTranslator.Self captured = new MeshTranslator.Self(ECHO_ID, 15006, 50051, Map.of(), false,
        new NodeRegistration.Capture("10.1.0.7", 50051, 15006, 15001), "grpc-echo");
    MeshResources r = MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(state, List.of(), Map.of(), true), state, captured, ExtAuthzClusters.NONE);
    assertThat(options(cluster(r, CapturedListeners.appCluster(50051))).getExplicitHttpConfig().hasHttp2ProtocolOptions())
        .isTrue();
    assertThat(options(cluster(r, "grpc-echo")).getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
  }

  @Test
  void theDataPlaneOffersH2OnMeshHttp2ClustersAndOnAnSdsHttp2ClusterWithoutAlpn() throws Exception {
    PolicySet state = state(null);
    MeshTranslator.Self echo = new MeshTranslator.Self(ECHO_ID, 15006, 7070, Map.of(), false, null, "grpc-echo");
    MeshTranslator.Self web = new MeshTranslator.Self(WEB_ID, 15007, 8080, Map.of(), false, null, "web");
    MeshResources r = inbound(state, Map.of("grpc-echo-1", echo, "web-1", web), echo);
    // The same HTTP/2 cluster without alpn_protocols (as a hand-written config might have it): the data plane adds h2.
    Cluster bare = cluster(r, "grpc-echo").toBuilder().setName("bare")
        .setTransportSocket(withoutAlpn(MeshMtls.upstream(List.of(ECHO_ID)))).setEdsClusterConfig(cluster(r, "grpc-echo")
            .getEdsClusterConfig().toBuilder().setServiceName("grpc-echo")).build();
    List<Cluster> clusters = new ArrayList<>(r.clusters());
    clusters.add(bare);
    MeshResources withBare = MeshResources.of(r.listeners(), r.routes(), clusters, r.endpoints());

    io.keelson.control.ca.MeshCa ca = io.keelson.control.ca.CaLoader.load(io.keelson.control.ca.CaOptions.selfSigned(null));
    java.security.KeyPair kp = io.keelson.dataplane.security.CertificateRequests.newKeyPair();
    var chain = ca.sign(io.keelson.dataplane.security.CertificateRequests.csr(kp), ca.identity("shop", "echo"), null);
    var source = new io.keelson.dataplane.security.StaticCertificateSource(
        new io.keelson.dataplane.security.WorkloadCertificate(kp.getPrivate(), chain.subList(0, chain.size() - 1)), ca.roots());
    ProxySnapshot s = io.keelson.dataplane.tls.LocalSecrets.with(source, () -> dataPlane(withBare));
    assertThat(s.clusters().get("grpc-echo").tls().config().params().alpn()).containsExactly("istio-peer-exchange", "istio", "h2");
    assertThat(s.clusters().get("bare").tls().config().params().alpn()).containsExactly("h2");
    assertThat(s.clusters().get("web").tls().config().params().alpn()).containsExactly("istio-peer-exchange", "istio");
    // HTTP connections of in-mesh clusters announce HTTP by ALPN (istiod's istio.alpn filter), tcp_proxy ones do not.
    assertThat(s.clusters().get("web").tls().forHttp().context().applicationProtocolNegotiator().protocols())
        .containsExactly("istio-http/1.1", "istio", "http/1.1");
    assertThat(s.clusters().get("web").tls().context().applicationProtocolNegotiator().protocols())
        .containsExactly("istio-peer-exchange", "istio");
    assertThat(s.clusters().get("grpc-echo").tls().forHttp().context().applicationProtocolNegotiator().protocols())
        .containsExactly("istio-h2", "istio", "h2");
    assertThat(s.clusters().get("bare").tls().forHttp()).as("not in-mesh: one context").isSameAs(s.clusters().get("bare").tls());
    assertThat(s.clusters().get(MeshMtls.APP_CLUSTER).http2()).isNotNull();
  }

  private static io.envoyproxy.envoy.config.core.v3.TransportSocket withoutAlpn(
      io.envoyproxy.envoy.config.core.v3.TransportSocket socket) throws Exception {
    UpstreamTlsContext u = socket.getTypedConfig().unpack(UpstreamTlsContext.class);
    u = u.toBuilder().setCommonTlsContext(u.getCommonTlsContext().toBuilder().clearAlpnProtocols()).build();
    return socket.toBuilder().setTypedConfig(com.google.protobuf.Any.pack(u)).build();
  }

  private static List<String> errors(String yaml) {
    try {
      PolicyParser.parse("dr.yaml", yaml);
    } catch (PolicyException e) {
      return e.errors().stream().map(PolicyError::toString).toList();
    }
    throw new AssertionError("expected the document to be rejected");
  }

  @Test
  void useClientProtocolAndBadProtocolSettingsAreRefusedByName() {
    String dr = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: web }
        spec: { host: web, trafficPolicy: { connectionPool: { http: { %s } } } }
        """;
    assertThat(errors(dr.formatted("useClientProtocol: true"))).singleElement().asString()
        .contains("spec.trafficPolicy.connectionPool.http.useClientProtocol")
        .contains("use_downstream_protocol_config").contains("h2UpgradePolicy: UPGRADE");
    assertThat(errors(dr.formatted("h2UpgradePolicy: SOMETIMES"))).singleElement().asString()
        .contains("h2UpgradePolicy").contains("'SOMETIMES'").contains("DEFAULT, DO_NOT_UPGRADE or UPGRADE");
    assertThat(errors(dr.formatted("maxConcurrentStreams: 0"))).singleElement().asString()
        .contains("maxConcurrentStreams");
    assertThat(errors(dr.formatted("useClientProtocol: maybe"))).singleElement().asString()
        .contains("useClientProtocol").contains("expected true or false");
    assertThat(errors(dr.formatted("maxRequestsPerConnection: -1"))).singleElement().asString()
        .contains("maxRequestsPerConnection").contains("expected a whole number from 0");
    String tcp = dr.replace("http: { %s }", "tcp: { %s }");
    assertThat(errors(tcp.formatted("tcpKeepalive: { time: 1500ms, probes: 0 }"))).containsExactlyInAnyOrder(
        "dr.yaml: DestinationRule/web: spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time: 'PT1.5S' is not whole"
            + " seconds from 1s to 32767s (the kernel's unit and range)",
        "dr.yaml: DestinationRule/web: spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes: expected a whole"
            + " number from 1 to 127, got 0");
    assertThat(errors(tcp.formatted("connectTimeout: 0s"))).singleElement().asString()
        .contains("connectTimeout: is zero; expected a positive duration");
  }

  /** {@code self}'s resources: the shared translation with mTLS plus its inbound listener, no CUSTOM providers. */
  private static MeshResources inbound(PolicySet state, Map<String, MeshTranslator.Self> ids, MeshTranslator.Self self) {
    return MeshTranslator.withInbound(new MeshTranslator(15001, false).translateShared(state, List.of(), ids, true), state,
        self, ExtAuthzClusters.NONE);
  }
}
