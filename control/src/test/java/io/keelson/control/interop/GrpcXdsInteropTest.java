package io.keelson.control.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.Mesh;
import io.keelson.control.xds.XdsServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Interop with code no one here wrote: grpc-java's own xDS client (proxyless gRPC) resolves
 * {@code xds:///product-service.default} against Keelson's control plane and follows its weighted split;
 * follows a Gateway API GRPCRoute's method matches and weights; and keeps the endpoint lists a
 * (state-of-the-world) EDS response leaves out. The client is of namespace shop (its bootstrap's {@code NAMESPACE}) and
 * the services of namespace default, so it dials them by {@code NAME.default}: a short name is only its own
 * namespace's service's, as istiod expands one for a proxyless client ({@code tryFindFQDN}).
 */
class GrpcXdsInteropTest {
  private static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("x-upstream", Metadata.ASCII_STRING_MARSHALLER);
  // grpc-java reads its xDS bootstrap once per process and keeps the client it made from it: every
  // test of this class shares one control plane (and one store; their services do not overlap).
  private static final PolicyStore store = new PolicyStore();
  private static XdsServer xds;
  /** The control plane's port, kept for a rerun of a failed test: grpc-java still holds the first bootstrap. */
  private static int port;

  @org.junit.jupiter.api.BeforeAll
  static void startControlPlane() throws Exception {
    xds = new XdsServer(store, 15001).start("127.0.0.1", port);
    port = xds.port();
    System.setProperty("io.grpc.xds.bootstrapConfig", """
        {
          "xds_servers": [ { "server_uri": "127.0.0.1:%d", "channel_creds": [ { "type": "insecure" } ],
                             "server_features": [ "xds_v3" ] } ],
          "node": { "id": "grpc-client", "cluster": "frontend", "locality": { "region": "r1", "zone": "a" },
                    "metadata": { "keelson.io/labels": { "track": "canary" }, "NAMESPACE": "shop" } }
        }
        """.formatted(xds.port()));
  }

  @org.junit.jupiter.api.AfterAll
  static void stopControlPlane() throws Exception {
    System.clearProperty("io.grpc.xds.bootstrapConfig");
    xds.close();
  }

  private static Server backend(String name) throws Exception {
    ServerInterceptor tag = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata h) {
            h.put(UPSTREAM, name);
            super.sendHeaders(h);
          }
        }, headers);
      }
    };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), tag))
        .build().start();
  }

  private static int port(Server s) {
    return ((InetSocketAddress) s.getListenSockets().getFirst()).getPort();
  }

  @Test
  void grpcJavasXdsClientFollowsTheCanarySplitAndItsShift() throws Exception {
    Server v1 = backend("v1");
    Server v2 = backend("v2");
    Mesh.applyCanary(store, port(v1), port(v2));
    ManagedChannel channel = null;
    try {
      channel = Grpc.newChannelBuilder("xds:///product-service.default", InsecureChannelCredentials.create()).build();
      ManagedChannel ch = channel;

      Map<String, Integer> split = count(ch, 1000);
      assertThat(split.getOrDefault("v2", 0)).as("v2 of 1000 at 90/10: %s", split).isBetween(50, 150);
      assertThat(xds.status()).anySatisfy(s -> {
        assertThat(s.nodeId()).isEqualTo("grpc-client");
        assertThat(s.proxyless()).isTrue();
      });

      store.apply(PolicyParser.parse("vs.yaml", Mesh.split(0, 100)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> count(ch, 50).getOrDefault("v1", 0) == 0);
      assertThat(count(ch, 500)).containsOnlyKeys("v2");
      String routes = xds.status().stream().filter(s -> s.nodeId().equals("grpc-client")).findFirst().orElseThrow()
          .types().get("routes").state();
      assertThat(routes).isEqualTo("ACK");
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      v1.shutdownNow();
      v2.shutdownNow();
    }
  }

  private static final String SHOP = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: shop }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: shop-v1 }
      spec: { service: shop, address: 127.0.0.1, port: %1$d, labels: { version: v1 } }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: shop-v2 }
      spec: { service: shop, address: 127.0.0.1, port: %2$d, labels: { version: v2 } }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: shop }
      spec:
        host: shop
        subsets:
        - { name: v1, labels: { version: v1 } }
        - { name: v2, labels: { version: v2 } }
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: shop }
      spec:
        hosts: [ shop ]
        http:
        - route:
          - { destination: { host: shop, subset: v1 }, weight: 50 }
          - { destination: { host: shop, subset: v2 }, weight: 50 }
      """;

  /**
   * After a workload moves, Keelson's EDS response (state of the world) carries only the changed
   * lists (the service's and v1's); grpc-java keeps v2's from the earlier response and goes on using it.
   */
  @Test
  void grpcJavasXdsClientKeepsTheEndpointsAnEdsResponseLeavesOut() throws Exception {
    Server v1 = backend("v1");
    Server v2 = backend("v2");
    Server moved = backend("v1-moved");
    ManagedChannel channel = null;
    try {
      store.apply(PolicyParser.parse("shop.yaml", SHOP.formatted(port(v1), port(v2))).policies(), false);
      channel = Grpc.newChannelBuilder("xds:///shop.default", InsecureChannelCredentials.create()).build();
      ManagedChannel ch = channel;
      assertThat(count(ch, 200)).containsOnlyKeys("v1", "v2");
      long omitted = xds.endpointsOmitted();

      store.apply(PolicyParser.parse("shop.yaml", SHOP.formatted(port(moved), port(v2))).policies(), false);

      await().atMost(Duration.ofSeconds(10)).until(() -> count(ch, 50).getOrDefault("v1", 0) == 0);
      assertThat(xds.endpointsOmitted()).as("the unchanged v2 list was left out").isGreaterThan(omitted);
      Map<String, Integer> after = count(ch, 400);
      assertThat(after).as("v2 still served from the list kept: %s", after).containsOnlyKeys("v1-moved", "v2");
      assertThat(after.get("v2")).isBetween(100, 300);
      String endpoints = xds.status().stream().filter(s -> s.nodeId().equals("grpc-client")).findFirst().orElseThrow()
          .types().get("endpoints").state();
      assertThat(endpoints).isEqualTo("ACK");
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      v1.shutdownNow();
      v2.shutdownNow();
      moved.shutdownNow();
    }
  }

  private static final String ZONED = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: zoned }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: zoned-a }
      spec: { service: zoned, address: 127.0.0.1, port: %1$d, locality: r1/a }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: zoned-b }
      spec: { service: zoned, address: 127.0.0.1, port: %2$d, locality: r1/b }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: zoned }
      spec:
        host: zoned
        trafficPolicy:
      """;

  /**
   * grpc-java (its bootstrap's node in r1/a) reads the per-locality assignment: with outlierDetection its zone's
   * endpoint is priority 0 and takes every call; without, both localities are weighed alike; distribute's 80/20
   * are its locality weights.
   */
  @Test
  void grpcJavasXdsClientFollowsItsLocalitysPrioritiesAndWeights() throws Exception {
    Server near = backend("near");
    Server far = backend("far");
    ManagedChannel channel = null;
    try {
      String zoned = ZONED.formatted(port(near), port(far));
      store.apply(PolicyParser.parse("zoned.yaml", zoned
          + "    outlierDetection: { consecutive5xxErrors: 1 }\n").policies(), false);
      channel = Grpc.newChannelBuilder("xds:///zoned.default", InsecureChannelCredentials.create()).build();
      ManagedChannel ch = channel;
      assertThat(count(ch, 200)).containsOnlyKeys("near");

      store.apply(PolicyParser.parse("zoned.yaml", zoned
          + "    connectionPool: { tcp: { maxConnections: 100 } }\n").policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> count(ch, 50).containsKey("far"));
      assertThat(count(ch, 400).get("far")).as("far's share without priorities").isBetween(120, 280);

      store.apply(PolicyParser.parse("zoned.yaml", zoned + """
              loadBalancer:
                localityLbSetting:
                  distribute: [ { from: "r1/a/*", to: { "r1/a/*": 80, "r1/b/*": 20 } } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> count(ch, 400).getOrDefault("far", 0) < 140);
      assertThat(count(ch, 1000).getOrDefault("far", 0)).as("far's share at 80/20").isBetween(120, 280);
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      near.shutdownNow();
      far.shutdownNow();
    }
  }

  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: health }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: health-a }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: health-b }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: a-1 }
      spec: { service: health-a, address: 127.0.0.1, port: %1$d }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: b-1 }
      spec: { service: health-b, address: 127.0.0.1, port: %2$d }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: health-1 }
      spec: { service: health, address: 127.0.0.1, port: %1$d }
      """;

  private static String route(String rules) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: { name: health }
        spec:
          parentRefs: [ { kind: Service, group: "", name: health } ]
          rules:
        """ + rules;
  }

  @Test
  void grpcJavasXdsClientFollowsAGrpcRoutesMethodMatchWeightsAndRegex() throws Exception {
    Server a = backend("a");
    Server b = backend("b");
    store.apply(PolicyParser.parse("mesh.yaml", MESH.formatted(port(a), port(b)) + "---\n" + route("""
          - matches: [ { method: { service: grpc.health.v1.Health, method: Check } } ]
            backendRefs: [ { name: health-b, port: 50051 } ]
          - backendRefs: [ { name: health-a, port: 50051 } ]
        """)).policies(), false);
    ManagedChannel channel = null;
    try {
      channel = Grpc.newChannelBuilder("xds:///health.default", InsecureChannelCredentials.create()).build();
      ManagedChannel ch = channel;

      assertThat(count(ch, 50)).as("Health/Check matches the first rule").containsOnlyKeys("b");

      // Only the service named (a prefix match), split 1:1 by weight.
      store.apply(PolicyParser.parse("route.yaml", route("""
            - matches: [ { method: { service: grpc.health.v1.Health } } ]
              backendRefs: [ { name: health-a, port: 50051, weight: 1 }, { name: health-b, port: 50051, weight: 1 } ]
          """)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> count(ch, 50).containsKey("a"));
      Map<String, Integer> split = count(ch, 400);
      assertThat(split.getOrDefault("a", 0)).as("a's share of 400 at 1:1: %s", split).isBetween(120, 280);

      // A regular expression on the method that does not match Check: no route, the call fails.
      store.apply(PolicyParser.parse("route.yaml", route("""
            - matches: [ { method: { type: RegularExpression, service: "grpc\\\\.health\\\\..*", method: "Wat.*" } } ]
              backendRefs: [ { name: health-b, port: 50051 } ]
          """)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        try {
          count(ch, 1);
          return false;
        } catch (io.grpc.StatusRuntimeException e) {
          return e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE;
        }
      });
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      a.shutdownNow();
      b.shutdownNow();
    }
  }

  /**
   * A proxyless client's own view: the labels in its bootstrap's node metadata ({@code keelson.io/labels}) meet a
   * {@code sourceLabels} match, which a client with other labels (or none) would not.
   */
  @Test
  void grpcJavasXdsClientGetsTheRouteItsNodeLabelsMeet() throws Exception {
    assertFirstRuleServes("promo", "{ sourceLabels: { track: canary } }", "track=canary meets the first rule's"
        + " sourceLabels");
  }

  /**
   * istiod's proxyless clients dial a service by its fully qualified name and port
   * ({@code xds:///NAME.NS.svc.cluster.local:PORT}) or by {@code NAME.NS.svc}: each is an API listener of its own,
   * whose name picks the service's virtual host.
   */
  @Test
  void grpcJavasXdsClientDialsTheServicesLongerNames() throws Exception {
    Server v1 = backend("v1");
    Server v2 = backend("v2");
    store.apply(PolicyParser.parse("dialed.yaml", SHOP.replace("shop", "dialed").formatted(port(v1), port(v2)))
        .policies(), false);
    try {
      for (String target : java.util.List.of("dialed.default.svc.cluster.local:50051", "dialed.default.svc")) {
        ManagedChannel channel = Grpc.newChannelBuilder("xds:///" + target, InsecureChannelCredentials.create()).build();
        try {
          assertThat(count(channel, 20).keySet()).as(target).isNotEmpty().isSubsetOf("v1", "v2");
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    } finally {
      v1.shutdownNow();
      v2.shutdownNow();
    }
  }

  /**
   * A proxyless client's namespace is its bootstrap's node metadata {@code NAMESPACE} (as istiod reads it), so a
   * {@code sourceNamespace} match meets it (no SPIFFE ID says otherwise).
   */
  @Test
  void grpcJavasXdsClientGetsTheRouteItsNodeNamespaceMeets() throws Exception {
    assertFirstRuleServes("basket", "{ sourceNamespace: shop }", "NAMESPACE shop meets the first rule's"
        + " sourceNamespace");
  }

  /**
   * Service {@code name} (as {@link #SHOP}) whose first rule, matching {@code match}, goes to v2 and the next to v1:
   * every call of this process's client reaches v2. The VirtualService is deleted after, so that the other tests' client
   * sees no source-conditioned route.
   */
  private static void assertFirstRuleServes(String name, String match, String because) throws Exception {
    Server v1 = backend("v1");
    Server v2 = backend("v2");
    ManagedChannel channel = null;
    try {
      store.apply(PolicyParser.parse(name + ".yaml", SHOP.replace("shop", name).formatted(port(v1), port(v2))
          .replace("""
              - route:
                - { destination: { host: NAME, subset: v1 }, weight: 50 }
                - { destination: { host: NAME, subset: v2 }, weight: 50 }
            """.replace("NAME", name), """
              - match: [ MATCH ]
                route: [ { destination: { host: NAME, subset: v2 } } ]
              - route: [ { destination: { host: NAME, subset: v1 } } ]
            """.replace("NAME", name).replace("MATCH", match))).policies(), false);
      channel = Grpc.newChannelBuilder("xds:///" + name + ".default", InsecureChannelCredentials.create()).build();
      assertThat(count(channel, 20)).as(because).containsOnlyKeys("v2");
    } finally {
      store.delete("VirtualService", name, false);
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      v1.shutdownNow();
      v2.shutdownNow();
    }
  }

  private static Map<String, Integer> count(ManagedChannel ch, int n) {
    Map<String, Integer> out = new HashMap<>();
    for (int i = 0; i < n; i++) {
      AtomicReference<Metadata> headers = new AtomicReference<>();
      AtomicReference<Metadata> trailers = new AtomicReference<>();
      HealthGrpc.newBlockingStub(ch)
          .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
          .withWaitForReady() // the first call waits for xDS name resolution, slow on a loaded machine
          .withDeadlineAfter(20, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance());
      out.merge(headers.get().get(UPSTREAM), 1, Integer::sum);
    }
    return out;
  }
}
