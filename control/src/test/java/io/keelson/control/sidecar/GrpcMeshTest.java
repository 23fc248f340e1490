package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * gRPC and HTTP/2 services through the mesh's sidecars, with real sockets end to end: a grpc-java client calls through
 * its own sidecar (h2c to 127.0.0.1:outbound with {@code :authority} the service), the sidecars talk HTTP/2 to each
 * other (over STRICT mTLS, h2 chosen by ALPN), and the destination sidecar talks HTTP/2 to a grpc-java server, which
 * speaks nothing else. Unary, server, client and bidi streaming, {@code grpc-status} errors, a GRPCRoute splitting by
 * method, an HTTP2 port reached over h2 from an HTTP/1.1 caller, an HTTP port that stays HTTP/1.1 unless its
 * DestinationRule says {@code h2UpgradePolicy: UPGRADE}.
 */
class GrpcMeshTest {
  static final String STRICT = """
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: default }
      spec: { mtls: { mode: STRICT } }
      """;

  /** A gRPC service grpc-echo and an HTTP service web, then a document separator. */
  static final String GRPC_ECHO_AND_WEB = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: grpc-echo }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      """;

  static ControlPlane controlPlane() throws Exception {
    return ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001, CaOptions.selfSigned(null), 0));
  }

  /** A sidecar on the plaintext xDS port, without an identity. */
  private static Sidecar plainSidecar(ControlPlane cp, String service, int appPort) throws Exception {
    return Sidecar.start(new SidecarBootstrap("127.0.0.1", cp.xds.port(), service, Map.of(), appPort, 0, 0,
        "127.0.0.1", 0), ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500));
  }

  private static ClusterConfig cluster(Sidecar s, String name) {
    var snapshot = s.xds().lastSnapshot();
    return snapshot == null ? null : snapshot.clusters().get(name);
  }

  static boolean answers(ManagedChannel ch, String expected) {
    try {
      return GrpcMeshApp.unary(ch, "hi").equals(expected);
    } catch (RuntimeException e) {
      return false;
    }
  }

  @Test
  void grpcCallsOfEveryKindCrossTwoSidecarsOverStrictMtlsAndHttp2() throws Exception {
    try (ControlPlane cp = controlPlane();
        GrpcMeshApp app = new GrpcMeshApp("v1", "127.0.0.1", 0);
        Sidecar echo = SidecarMtlsTest.secureSidecar(cp, "grpc-echo", "echo", app.port());
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", GRPC_ECHO_AND_WEB + STRICT).policies(), false);
      ManagedChannel ch = GrpcMeshApp.channel("127.0.0.1", web.outboundAddress().getPort(), "grpc-echo");
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> answers(ch, "v1:hi")
            && !SidecarMtlsTest.inbound(echo).plaintextToo());
        assertThat(GrpcMeshApp.unary(ch, "hello")).isEqualTo("v1:hello");
        assertThat(GrpcMeshApp.count(ch, 3)).containsExactly("v1:0", "v1:1", "v1:2");
        assertThat(GrpcMeshApp.join(ch, "a", "b", "c")).isEqualTo("v1:a,b,c");
        assertThat(GrpcMeshApp.chat(ch, "x", "y", "z")).containsExactly("v1 echo x", "v1 echo y", "v1 echo z");
        assertThat(GrpcMeshApp.unaryStatus(ch, "fail:no such item")).isEqualTo("NOT_FOUND: no such item");
      } finally {
        ch.shutdownNow();
      }
      // The caller's cluster: HTTP/2 over mTLS, offering h2 by ALPN; the destination's app cluster: HTTP/2.
      ClusterConfig out = cluster(web, "grpc-echo");
      assertThat(out.http2()).isNotNull();
      assertThat(out.tls()).isNotNull();
      assertThat(out.tls().config().params().alpn()).contains("h2");
      assertThat(cluster(echo, SidecarBootstrap.APP_CLUSTER).http2()).isNotNull();
      assertThat(echo.server().stats().tls("listener.inbound").handshake.sum()).as("inbound mTLS handshakes").isPositive();
      // The caller's own service is HTTP: its app cluster stays the bootstrap's HTTP/1.1 one.
      assertThat(cluster(web, SidecarBootstrap.APP_CLUSTER).http2()).isNull();
    }
  }

  @Test
  void aGrpcRouteSendsOneMethodToAnotherVersion() throws Exception {
    try (ControlPlane cp = controlPlane();
        GrpcMeshApp v1 = new GrpcMeshApp("v1", "127.0.0.1", 0);
        GrpcMeshApp v2 = new GrpcMeshApp("v2", "127.0.0.1", 0);
        Sidecar echo = plainSidecar(cp, "echo", v1.port());
        Sidecar echoV2 = plainSidecar(cp, "echo-v2", v2.port());
        Sidecar web = plainSidecar(cp, "web", 1)) {
      cp.store.apply(PolicyParser.parse("grpc.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: echo }
          spec: { ports: [ { name: grpc, port: 50051 } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: echo-v2 }
          spec: { ports: [ { name: grpc, port: 50051 } ] }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: GRPCRoute
          metadata: { name: echo }
          spec:
            parentRefs: [ { kind: Service, group: "", name: echo } ]
            rules:
            - matches: [ { method: { service: test.Echo, method: Chat } } ]
              backendRefs: [ { name: echo-v2, port: 50051 } ]
            - backendRefs: [ { name: echo, port: 50051 } ]
          """).policies(), false);
      ManagedChannel ch = GrpcMeshApp.channel("127.0.0.1", web.outboundAddress().getPort(), "echo");
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> answers(ch, "v1:hi"));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
            assertThat(GrpcMeshApp.chat(ch, "x", "y")).containsExactly("v2 echo x", "v2 echo y"));
        assertThat(GrpcMeshApp.count(ch, 2)).containsExactly("v1:0", "v1:1");
        assertThat(GrpcMeshApp.join(ch, "a")).isEqualTo("v1:a");
        assertThat(GrpcMeshApp.unaryStatus(ch, "fail:gone")).isEqualTo("NOT_FOUND: gone");
      } finally {
        ch.shutdownNow();
      }
      // Sidecars without an identity get their app cluster over HTTP/2 from the control plane too.
      assertThat(cluster(echo, SidecarBootstrap.APP_CLUSTER).http2()).isNotNull();
      assertThat(cluster(echoV2, SidecarBootstrap.APP_CLUSTER).http2()).isNotNull();
    }
  }

  @Test
  void anHttp2PortIsReachedOverHttp2AndAnHttpPortStaysHttp11UntilItsDestinationRuleUpgradesIt() throws Exception {
    try (ControlPlane cp = controlPlane();
        H2cApp h2app = new H2cApp();
        TestUpstream h1app = new TestUpstream("h1");
        Sidecar h2 = plainSidecar(cp, "h2svc", h2app.port());
        Sidecar h1 = plainSidecar(cp, "h1svc", h1app.port());
        Sidecar web = plainSidecar(cp, "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: h2svc }
          spec: { ports: [ { name: web, port: 80, protocol: HTTP2 } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: h1svc }
          spec: { ports: [ { name: http, port: 80 } ] }
          """).policies(), false);
      int outbound = web.outboundAddress().getPort();
      // An HTTP/1.1 caller: its sidecar and the destination's speak HTTP/2 onwards, to an app that takes nothing else.
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(get(outbound, "h2svc", "/items")).isEqualTo("200 h2 /items"));
      assertThat(h2app.streams.get()).isPositive();
      assertThat(cluster(web, "h2svc").http2()).isNotNull();
      assertThat(cluster(h2, SidecarBootstrap.APP_CLUSTER).http2()).isNotNull();

      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(get(outbound, "h1svc", "/plain")).startsWith("200"));
      assertThat(h1app.requestLines).contains("GET /plain HTTP/1.1");
      assertThat(cluster(web, "h1svc").http2()).isNull();
      assertThat(cluster(h1, SidecarBootstrap.APP_CLUSTER).http2()).isNull();

      cp.store.apply(PolicyParser.parse("upgrade.yaml", """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: h1svc }
          spec:
            host: h1svc
            trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: UPGRADE, idleTimeout: 30s, maxConcurrentStreams: 50 } } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> cluster(web, "h1svc").http2() != null);
      assertThat(cluster(web, "h1svc").http2().maxConcurrentStreams()).isEqualTo(50);
      assertThat(cluster(web, "h1svc").idleTimeout()).isEqualTo(Duration.ofSeconds(30));
      // Upgraded between the sidecars only: the app behind its sidecar still gets HTTP/1.1.
      h1app.requestLines.clear();
      assertThat(get(outbound, "h1svc", "/upgraded")).startsWith("200");
      assertThat(h1app.requestLines).containsExactly("GET /upgraded HTTP/1.1");
    }
  }

  /** One HTTP/1.1 request: {@code "<status> <body>"}, or the failure. */
  private static String get(int port, String host, String path) {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
      return r.status() + " " + r.body();
    } catch (Exception e) {
      return "failed: " + e;
    }
  }
}
