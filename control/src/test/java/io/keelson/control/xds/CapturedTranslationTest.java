package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.stub.StreamObserver;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a sidecar whose traffic iptables captures receives (istiod's virtualOutbound / per-port
 * listeners / virtualInbound shape), that other sidecars' resources do not change, and that a
 * captured node with an unusable registration is refused with the metadata key named.
 */
class CapturedTranslationTest {
  private static final String REVIEWS = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { name: http, port: 9080 }, { name: alt, port: 80 } ]
      """;

  /** {@link #capturedNode} of a dual-stack pod ({@code bin/keelson proxy --ipv6}). */
  private static Node dualStackNode(String id, String address, int appPort) {
    Node n = capturedNode(id, address, appPort);
    return n.toBuilder().setMetadata(n.getMetadata().toBuilder().putFields(NodeRegistration.IPV6,
        Value.newBuilder().setBoolValue(true).build())).build();
  }

  private static Node capturedNode(String id, String address, int appPort) {
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.SERVICE, str("reviews"))
            .putFields(NodeRegistration.ADDRESS, str(address))
            .putFields(NodeRegistration.PORT, num(appPort))
            .putFields(NodeRegistration.APP_PORT, num(appPort))
            .putFields(NodeRegistration.CAPTURE, str("iptables"))
            .putFields(NodeRegistration.INBOUND_PORT, num(15006))
            .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder()
                .putFields("version", str("v1"))).build()))
        .build();
  }

  @Test
  void aCapturedSidecarGetsVirtualOutboundAListenerPerServicePortAndVirtualInbound() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082); // product-service, port 80
    store.apply(PolicyParser.parse("reviews.yaml", REVIEWS).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient watcher = client(xds, Node.newBuilder().setId("watcher").build())) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.nodeIds().contains("watcher"));
      MeshResources before = xds.resourcesFor("watcher");
      try (XdsClient captured = client(xds, capturedNode("reviews-10.1.0.7", "10.1.0.7", 9080))) {
        await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().containsKey("reviews-10.1.0.7"));
        MeshResources r = xds.resourcesFor("reviews-10.1.0.7");

        assertThat(r.listeners()).extracting(Listener::getName)
            .containsExactly("virtualOutbound", "virtualInbound", "0.0.0.0_80", "0.0.0.0_9080");
        Listener outbound = listener(r, "virtualOutbound");
        assertThat(outbound.getAddress().getSocketAddress().getAddress()).as("IPv4 only: not registered dual-stack")
            .isEqualTo("0.0.0.0");
        assertThat(outbound.getAddress().getSocketAddress().getIpv4Compat()).isFalse();
        assertThat(outbound.getAddress().getSocketAddress().getPortValue()).isEqualTo(15001);
        assertThat(outbound.getUseOriginalDst().getValue()).isTrue();
        assertThat(outbound.getListenerFiltersList()).extracting(f -> f.getName())
            .containsExactly("envoy.filters.listener.original_dst");
        assertThat(outbound.getFilterChainsList()).singleElement().satisfies(c -> {
          assertThat(c.getName()).isEqualTo("PassthroughFilterChain");
          assertThat(tcpProxy(c).getCluster()).isEqualTo("PassthroughCluster");
        });

        Listener port80 = listener(r, "0.0.0.0_80");
        assertThat(port80.getBindToPort().getValue()).isFalse();
        assertThat(port80.hasBindToPort()).isTrue();
        assertThat(port80.getAddress().getSocketAddress().getPortValue()).isEqualTo(80);
        HttpConnectionManager hcm80 = hcm(port80.getFilterChains(0));
        assertThat(hcm80.getRds().getRouteConfigName()).isEqualTo("80");
        HttpConnectionManager todays = hcm(listener(before, "outbound").getFilterChains(0));
        assertThat(hcm80.getHttpFiltersList()).as("the same HTTP filters as today's outbound listener")
            .isEqualTo(todays.getHttpFiltersList());

        RouteConfiguration routes80 = route(r, "80");
        assertThat(routes80.getVirtualHostsList()).extracting(VirtualHost::getName)
            .containsExactly("product-service", "reviews", "allow_any");
        assertThat(routes80.getVirtualHosts(1).getDomainsList()).startsWith("reviews", "reviews:80")
            .as("its longer names and its VIP too (DnsTranslationTest)").contains("reviews.default.svc.cluster.local:80");
        VirtualHost allowAny = routes80.getVirtualHosts(2);
        assertThat(allowAny.getDomainsList()).containsExactly("*");
        assertThat(allowAny.getRoutes(0).getRoute().getCluster()).isEqualTo("PassthroughCluster");
        // The canary's routes (subset clusters) are there as in today's outbound route configuration.
        VirtualHost todaysProduct = route(before, "outbound").getVirtualHostsList().stream()
            .filter(v -> v.getName().equals("product-service")).findFirst().orElseThrow();
        assertThat(routes80.getVirtualHosts(0).getRoutesList()).isEqualTo(todaysProduct.getRoutesList());
        assertThat(route(r, "9080").getVirtualHostsList()).extracting(VirtualHost::getName)
            .containsExactly("reviews", "allow_any");
        assertThat(route(r, "9080").getVirtualHosts(0).getDomainsList()).startsWith("reviews", "reviews:9080");

        Cluster passthrough = cluster(r, "PassthroughCluster");
        assertThat(passthrough.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
        assertThat(passthrough.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
        Cluster inboundPassthrough = cluster(r, "InboundPassthroughCluster");
        assertThat(inboundPassthrough.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
        assertThat(inboundPassthrough.getUpstreamBindConfig().getSourceAddress().getAddress()).isEqualTo("127.0.0.6");
        assertThat(inboundPassthrough.getUpstreamBindConfig().getExtraSourceAddressesList())
            .as("istiod's IPv6 inbound passthrough source, one cluster for both families")
            .extracting(e -> e.getAddress().getAddress()).containsExactly("::6");
        assertThat(r.clusters()).extracting(Cluster::getName).doesNotContain("InboundPassthroughClusterIpv6");
        // istiod 1.10+: the app at the connection's original destination (the pod address), from 127.0.0.6.
        Cluster app = cluster(r, "inbound|9080");
        assertThat(app.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
        assertThat(app.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
        assertThat(app.getCleanupInterval().getSeconds()).isEqualTo(60);
        assertThat(app.hasLoadAssignment()).isFalse();
        assertThat(app.getUpstreamBindConfig().getSourceAddress().getAddress()).isEqualTo("127.0.0.6");
        assertThat(app.getUpstreamBindConfig().getExtraSourceAddressesList()).as("to an IPv6 pod address: from ::6")
            .extracting(e -> e.getAddress().getAddress() + ":" + e.getAddress().getPortValue()).containsExactly("::6:0");
        assertThat(cluster(r, "reviews").getType()).as("mesh clusters stay EDS").isEqualTo(Cluster.DiscoveryType.EDS);

        Listener inbound = listener(r, "virtualInbound");
        assertThat(inbound.getAddress().getSocketAddress().getAddress()).isEqualTo("0.0.0.0");
        assertThat(inbound.getAddress().getSocketAddress().getIpv4Compat()).isFalse();
        assertThat(inbound.getAddress().getSocketAddress().getPortValue()).isEqualTo(15006);
        assertThat(inbound.getListenerFiltersList()).extracting(f -> f.getName())
            .containsExactly("envoy.filters.listener.original_dst");
        assertThat(inbound.getFilterChainsList()).hasSize(2);
        FilterChain appChain = inbound.getFilterChains(0);
        assertThat(appChain.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(9080);
        assertThat(appChain.hasTransportSocket()).as("no identity: plaintext, as today's bootstrap inbound").isFalse();
        assertThat(hcm(appChain).getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster())
            .isEqualTo("inbound|9080");
        FilterChain rest = inbound.getFilterChains(1);
        assertThat(rest.hasFilterChainMatch()).isFalse();
        assertThat(tcpProxy(rest).getCluster()).isEqualTo("InboundPassthroughCluster");
        // Both families: the app port's chain, else the one passthrough (its source picked by the destination's family).
        assertThat(StreamTranslationTest.select(r, "virtualInbound", "fd00::7", 9999)).isEqualTo("InboundPassthroughCluster");
        assertThat(StreamTranslationTest.select(r, "virtualInbound", "10.1.0.7", 9999)).isEqualTo("InboundPassthroughCluster");

        // Its endpoint is its pod address and app port, for every proxy.
        assertThat(xds.current().endpoints().stream().filter(e -> e.getClusterName().equals("reviews"))
            .flatMap(e -> e.getEndpointsList().stream()).flatMap(l -> l.getLbEndpointsList().stream())
            .map(e -> e.getEndpoint().getAddress().getSocketAddress())
            .map(a -> a.getAddress() + ":" + a.getPortValue())).containsExactly("10.1.0.7:9080");

        // A sidecar without capture: its listeners, routes and clusters are what they were (only endpoints moved).
        MeshResources watcherNow = xds.resourcesFor("watcher");
        assertThat(watcherNow.listeners()).extracting(Listener::getName).containsExactly("outbound");
        assertThat(watcherNow.listenersVersion()).isEqualTo(before.listenersVersion());
        assertThat(watcherNow.routesVersion()).isEqualTo(before.routesVersion());
        assertThat(watcherNow.clustersVersion()).isEqualTo(before.clustersVersion());
        assertThat(watcherNow.endpointsVersion()).isNotEqualTo(before.endpointsVersion());
      }
    }
  }

  /**
   * A dual-stack captured sidecar ({@code keelson.io/ipv6}, as istiod for a proxy with IPv6 addresses): virtualOutbound
   * and virtualInbound on [::] with ipv4_compat, IPv6 destinations through InboundPassthroughClusterIpv6 from ::6; an
   * IPv4-only one beside it on the same shared resources keeps 0.0.0.0 and no IPv6 passthrough.
   */
  @Test
  void aDualStackCapturedSidecarBindsBothFamiliesAndPassesIpv6ThroughFromColonColon6() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("reviews.yaml", REVIEWS).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient dual = client(xds, dualStackNode("reviews-10.1.0.7", "10.1.0.7", 9080));
        XdsClient v4 = client(xds, capturedNode("reviews-10.1.0.8", "10.1.0.8", 9080))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> xds.registeredWorkloads().keySet()
          .containsAll(java.util.List.of("reviews-10.1.0.7", "reviews-10.1.0.8")));
      MeshResources r = xds.resourcesFor("reviews-10.1.0.7");
      for (String name : java.util.List.of("virtualOutbound", "virtualInbound")) {
        var address = listener(r, name).getAddress().getSocketAddress();
        assertThat(address.getAddress()).as(name).isEqualTo("::");
        assertThat(address.getIpv4Compat()).as(name).isTrue();
      }
      assertThat(cluster(r, "InboundPassthroughCluster").getUpstreamBindConfig().getExtraSourceAddressesList())
          .as("istiod's IPv6 inbound source, one passthrough cluster for both families")
          .extracting(e -> e.getAddress().getAddress()).containsExactly("::6");
      assertThat(r.clusters()).extracting(Cluster::getName).doesNotContain("InboundPassthroughClusterIpv6");
      // The data plane selects the app port's chain, else the one passthrough, for both families.
      assertThat(StreamTranslationTest.select(r, "virtualInbound", "fd00::7", 9999))
          .isEqualTo("InboundPassthroughCluster");
      assertThat(StreamTranslationTest.select(r, "virtualInbound", "10.1.0.7", 9999))
          .isEqualTo("InboundPassthroughCluster");

      MeshResources ipv4 = xds.resourcesFor("reviews-10.1.0.8");
      assertThat(listener(ipv4, "virtualOutbound").getAddress().getSocketAddress().getAddress()).isEqualTo("0.0.0.0");
      assertThat(listener(ipv4, "virtualInbound").getAddress().getSocketAddress().getAddress()).isEqualTo("0.0.0.0");
      assertThat(ipv4.clusters()).extracting(Cluster::getName).doesNotContain("InboundPassthroughClusterIpv6");
    }
  }

  @Test
  void aCapturedSidecarsIpv6RegistrationMustBeABoolean() {
    Node n = capturedNode("reviews-10.1.0.7", "10.1.0.7", 9080);
    Node bad = n.toBuilder().setMetadata(n.getMetadata().toBuilder().putFields(NodeRegistration.IPV6, str("yes")))
        .build();
    assertThatThrownBy(() -> NodeRegistration.capture(bad, 15001))
        .hasMessage("node reviews-10.1.0.7: keelson.io/ipv6 must be true or false (the pod is dual-stack: its sidecar"
            + " was started with --ipv6)");
  }

  /**
   * A captured sidecar with an identity: its app-port chains are today's inbound listener's (mTLS mode, JWT,
   * RBAC, XFCC) with the destination port matched and the cluster {@code inbound|<port>}.
   */
  @ParameterizedTest
  @EnumSource(value = Authz.MtlsMode.class, names = {"STRICT", "PERMISSIVE", "DISABLE"})
  void aCapturedSidecarsAppChainsAreTodaysInboundListenersChains(Authz.MtlsMode mode) throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("security.yaml", REVIEWS + """
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: { name: default, namespace: shop }
        spec: { mtls: { mode: %s } }
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: viewers, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          action: ALLOW
          rules:
          - from: [ { source: { principals: [ "cluster.local/ns/shop/sa/web" ] } } ]
        ---
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: { name: jwt, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          jwtRules: [ { issuer: "https://idp.example", jwksUri: "https://idp.example/keys" } ]
        """.formatted(mode)).policies());
    String spiffe = "spiffe://cluster.local/ns/shop/sa/reviews";
    Map<String, String> labels = Map.of("app", "reviews");
    MeshTranslator.Self plain = new MeshTranslator.Self(spiffe, 15006, 9080, labels);
    MeshTranslator.Self captured = new MeshTranslator.Self(spiffe, 15006, 9080, labels, false,
        new NodeRegistration.Capture("10.1.0.7", 9080, 15006, 15001));
    List<Policy.Workload> none = List.of();
    Listener today = listener(MeshTranslator.withInbound(new MeshTranslator(15001, false)
        .translateShared(state, none, Map.of(), true), state, plain, ExtAuthzClusters.NONE), "inbound");
    Listener virtual = listener(MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(state, none, Map.of(), true), state, captured, ExtAuthzClusters.NONE), "virtualInbound");

    List<FilterChain> appChains = virtual.getFilterChainsList().stream().filter(FilterChain::hasFilterChainMatch)
        .filter(c -> c.getFilterChainMatch().hasDestinationPort()).toList();
    assertThat(appChains).hasSize(today.getFilterChainsCount());
    for (int i = 0; i < appChains.size(); i++) {
      FilterChain was = today.getFilterChains(i);
      FilterChain now = appChains.get(i);
      assertThat(now.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(9080);
      assertThat(now.getFilterChainMatch().getTransportProtocol()).isEqualTo(was.getFilterChainMatch().getTransportProtocol());
      assertThat(now.getTransportSocket()).isEqualTo(was.getTransportSocket());
      HttpConnectionManager a = hcm(was);
      HttpConnectionManager b = hcm(now);
      assertThat(b.getHttpFiltersList()).as("JWT, RBAC, router").isEqualTo(a.getHttpFiltersList());
      assertThat(b.getHttpFiltersList()).extracting(f -> f.getName())
          .contains("envoy.filters.http.jwt_authn", "envoy.filters.http.rbac");
      assertThat(b.getForwardClientCertDetails()).isEqualTo(a.getForwardClientCertDetails());
      assertThat(b.getSetCurrentClientCertDetails()).isEqualTo(a.getSetCurrentClientCertDetails());
      assertThat(b.getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster()).isEqualTo("inbound|9080");
    }
    // The TLS inspector exactly when today's listener has one (PERMISSIVE), after original_dst.
    List<String> todayFilters = today.getListenerFiltersList().stream().map(f -> f.getName()).toList();
    assertThat(virtual.getListenerFiltersList()).extracting(f -> f.getName()).containsExactlyElementsOf(
        java.util.stream.Stream.concat(java.util.stream.Stream.of("envoy.filters.listener.original_dst"),
            todayFilters.stream()).toList());
    // Other ports: passthrough under the same mTLS mode, behind the policies' network RBAC.
    List<FilterChain> passthrough = virtual.getFilterChainsList().stream()
        .filter(c -> c.getName().equals("InboundPassthroughFilterChain")).toList();
    assertThat(passthrough).hasSize(today.getFilterChainsCount());
    // an mTLS chain runs istiod's TCP metadata exchange first
    assertThat(passthrough.getLast().getFiltersList()).extracting(Filter::getName).containsExactlyElementsOf(
        passthrough.getLast().hasTransportSocket()
            ? List.of("istio.metadata_exchange", "envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy")
            : List.of("envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy"));
    assertThat(passthrough.stream().allMatch(c -> !c.getFilterChainMatch().hasDestinationPort())).isTrue();
  }

  @Test
  void aCapturedNodeWithAnUnusableRegistrationIsRefusedNamingTheKey() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("reviews.yaml", REVIEWS).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0)) {
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", xds.port(), InsecureChannelCredentials.create()).build();
      try {
        assertThat(refusal(channel, capturedNode("bad-loopback", "127.0.0.1", 9080)))
            .contains("keelson.io/address '127.0.0.1'");
        assertThat(refusal(channel, capturedNode("bad-port", "10.1.0.8", 9080).toBuilder()
            .setMetadata(capturedNode("x", "10.1.0.8", 9080).getMetadata().toBuilder()
                .putFields(NodeRegistration.PORT, num(15006))).build()))
            .contains("keelson.io/port (15006) and keelson.io/app-port (9080)");
        assertThat(refusal(channel, capturedNode("bad-mode", "10.1.0.8", 9080).toBuilder()
            .setMetadata(capturedNode("x", "10.1.0.8", 9080).getMetadata().toBuilder()
                .putFields(NodeRegistration.CAPTURE, str("ebpf"))).build()))
            .contains("keelson.io/capture 'ebpf' is not supported");
        assertThat(refusal(channel, capturedNode("other-ns", "10.1.0.8", 9080).toBuilder()
            .setMetadata(capturedNode("x", "10.1.0.8", 9080).getMetadata().toBuilder()
                .putFields(NodeRegistration.SERVICE, str("reviews.shop"))).build()))
            .as("a sidecar cannot name another namespace's Service to join its SAN set")
            .contains("'reviews.shop' is not a Service name");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      assertThat(xds.registeredWorkloads()).isEmpty();
      assertThat(xds.nodeIds()).isEmpty();
    }
  }

  @Test
  void aServicePortEqualToTheOutboundPortGetsNoListenerOfItsOwn() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("reviews.yaml", REVIEWS).policies());
    MeshResources r = new MeshTranslator(80, false, true).translate(state, List.of());
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("virtualOutbound", "0.0.0.0_9080");
    assertThat(new MeshTranslator(15001, false).translate(state, List.of()).listeners()).extracting(Listener::getName)
        .as("without capture: today's").containsExactly("outbound");
  }

  @Test
  void captureMetadataIsValidatedKeyByKey() {
    assertThat(NodeRegistration.capture(Node.newBuilder().setId("n").build(), 15001)).isNull();
    assertThat(NodeRegistration.capture(capturedNode("n", "10.1.0.7", 9080), 15001))
        .isEqualTo(new NodeRegistration.Capture("10.1.0.7", 9080, 15006, 15001));
    assertThatThrownBy(() -> NodeRegistration.capture(capturedNode("n", "0.0.0.0", 9080), 15001))
        .hasMessageContaining("keelson.io/address '0.0.0.0'");
    assertThatThrownBy(() -> NodeRegistration.capture(capturedNode("n", "reviews.local", 9080), 15001))
        .hasMessageContaining("keelson.io/address 'reviews.local'");
    assertThatThrownBy(() -> NodeRegistration.capture(capturedNode("n", "10.1.0.7", 15006), 15001))
        .hasMessageContaining("keelson.io/inbound-port (15006) must be a port (1-65535) other than the app's");
    assertThatThrownBy(() -> NodeRegistration.capture(capturedNode("n", "10.1.0.7", 15001), 15001))
        .hasMessageContaining("keelson.io/outbound-port (15001) must differ");
  }

  /** Opens an ADS stream as {@code node} and returns the description of the status it is closed with. */
  private static String refusal(ManagedChannel channel, Node node) throws Exception {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
        .streamAggregatedResources(new StreamObserver<DiscoveryResponse>() {
          @Override
          public void onNext(DiscoveryResponse value) {}

          @Override
          public void onError(Throwable t) {
            closed.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            closed.complete(Status.OK);
          }
        });
    requests.onNext(DiscoveryRequest.newBuilder().setNode(node)
        .setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster").build());
    Status status = closed.get(10, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    return status.getDescription();
  }

  private static XdsClient client(XdsServer xds, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { });
  }

  static Listener listener(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no listener " + name + " in " + r.listeners().stream().map(Listener::getName).toList()));
  }

  private static RouteConfiguration route(MeshResources r, String name) {
    return r.routes().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  private static Cluster cluster(MeshResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  static HttpConnectionManager hcm(FilterChain c) {
    try {
      return c.getFiltersList().getLast().getTypedConfig().unpack(HttpConnectionManager.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static TcpProxy tcpProxy(FilterChain c) {
    try {
      return c.getFiltersList().getLast().getTypedConfig().unpack(TcpProxy.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value num(int n) {
    return Value.newBuilder().setNumberValue(n).build();
  }

  @Test
  void aSidecarIngressDefaultEndpointMakesTheAppClusterStaticAsIstiodDoes() {
    // 127.0.0.1:P: the app on loopback, no source address (iptables leaves 127.0.0.1 alone).
    Cluster loopback = CapturedListeners.appClusterResource(9080, "10.1.0.7",
        new io.keelson.control.policy.Policy.SidecarIngress(9080, "127.0.0.1", 8080));
    assertThat(loopback.getName()).isEqualTo("inbound|9080");
    assertThat(loopback.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(loopback.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress()).satisfies(a -> assertThat(a.getAddress() + ":" + a.getPortValue()).isEqualTo("127.0.0.1:8080"));
    assertThat(loopback.hasUpstreamBindConfig()).isFalse();
    // 0.0.0.0:P: the pod address, port P, from 127.0.0.6.
    Cluster pod = CapturedListeners.appClusterResource(9080, "10.1.0.7",
        new io.keelson.control.policy.Policy.SidecarIngress(9080, "0.0.0.0", 8080));
    assertThat(pod.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(pod.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
        .getSocketAddress()).satisfies(a -> assertThat(a.getAddress() + ":" + a.getPortValue()).isEqualTo("10.1.0.7:8080"));
    assertThat(pod.getUpstreamBindConfig().getSourceAddress().getAddress()).isEqualTo("127.0.0.6");
    assertThat(CapturedListeners.appClusterResource(9080, "10.1.0.7", null))
        .isEqualTo(CapturedListeners.appClusterResource(9080));
  }
}
