package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IngressGatewayTest.curl;
import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Gateway API Gateway with TLS (Passthrough), TCP and HTTP listeners programming a gateway proxy, end to end with
 * real sockets: curl reaches two HTTPS apps by SNI through TLSRoutes (an exact name beats a wildcard; each app's own
 * certificate reaches curl, the gateway holds no key), a TCPRoute relays to a TCP echo, and a grpc-java client calls a
 * grpc-java server through a GRPCRoute on the HTTP listener (HTTP/2 upstream); every backend sits behind a STRICT-mTLS
 * sidecar, reached as the gateway's SPIFFE identity. Also: a ReferenceGrant letting a Gateway use a Secret of another
 * namespace, and an Istio VirtualService's wildcard {@code sniHosts} losing to an exact name.
 */
class GatewayApiIngressTest {
  @TempDir
  Path dir;

  @Test
  void tlsRoutesBySniTcpRouteAndGrpcRouteThroughAGatewayApiGateway() throws Exception {
    int tls = freePort();
    int tcp = freePort();
    int http = freePort();
    TestCa ca = new TestCa("apps-ca");
    TestCa.Leaf certA = ca.issue("a.example.com", "a.example.com");
    TestCa.Leaf certB = ca.issue("wildcard.example.com", "*.example.com", "*.x.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        TestUpstream appA = new TestUpstream("app-a", SslContextBuilder.forServer(certA.key(), certA.cert()).build());
        TestUpstream appB = new TestUpstream("app-b", SslContextBuilder.forServer(certB.key(), certB.cert()).build());
        SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
        GrpcMeshApp grpc = new GrpcMeshApp("v1", "127.0.0.1", 0);
        Sidecar sideA = SidecarTcpAuthorizationTest.tcpSidecar(cp, "app-a", "app-a", appA.port());
        Sidecar sideB = SidecarTcpAuthorizationTest.tcpSidecar(cp, "app-b", "app-b", appB.port());
        Sidecar sideEcho = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", echo.port());
        Sidecar sideGrpc = SidecarMtlsTest.secureSidecar(cp, "grpc-echo", "grpc", grpc.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "edge", "edge", SidecarBootstrap.gateway("127.0.0.1",
            cp.security.securePort().port(), "edge", Map.of("gateway.networking.k8s.io/gateway-name", "edge"),
            "127.0.0.1", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("edge.yaml", """
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
          metadata: { name: tcp-echo }
          spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: grpc-echo }
          spec: { ports: [ { name: grpc, port: 50051 } ] }
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: edge }
          spec:
            gatewayClassName: keelson
            listeners:
            - { name: tls, port: %1$d, protocol: TLS, hostname: "*.example.com", tls: { mode: Passthrough } }
            - { name: tcp, port: %2$d, protocol: TCP }
            - { name: http, port: %3$d, protocol: HTTP, allowedRoutes: { kinds: [ { kind: GRPCRoute } ] } }
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TLSRoute
          metadata: { name: a }
          spec:
            parentRefs: [ { name: edge, sectionName: tls } ]
            hostnames: [ a.example.com ]
            rules: [ { backendRefs: [ { name: app-a, port: 443 } ] } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TLSRoute
          metadata: { name: b }
          spec:
            parentRefs: [ { name: edge, port: %1$d } ]
            hostnames: [ "*.example.com" ]
            rules: [ { backendRefs: [ { name: app-b, port: 443 } ] } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TCPRoute
          metadata: { name: echo }
          spec:
            parentRefs: [ { name: edge, sectionName: tcp } ]
            rules: [ { backendRefs: [ { name: tcp-echo, port: 9000 } ] } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: GRPCRoute
          metadata: { name: grpc }
          spec:
            parentRefs: [ { name: edge } ]
            hostnames: [ grpc.example.com ]
            rules: [ { backendRefs: [ { name: grpc-echo, port: 50051 } ] } ]
          """.formatted(tls, tcp, http)).policies(), false);

      // TCP: the gateway's tcp_proxy, then mesh mTLS to the echo's STRICT sidecar.
      await().atMost(Duration.ofSeconds(20))
          .until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));
      // TLS passthrough by SNI: each app's own certificate reaches curl; the exact name beats the wildcard.
      for (String[] expect : new String[][] {{"a.example.com", "app-a"}, {"x.example.com", "app-b"},
          {"deep.x.example.com", "app-b"}}) {
        IngressGatewayTest.Curl ok = curl("--resolve", expect[0] + ":" + tls + ":127.0.0.1", "--cacert",
            caFile.toString(), "https://" + expect[0] + ":" + tls + "/hello");
        assertThat(ok.exit()).as(expect[0] + ": " + ok.err()).isZero();
        assertThat(ok.out()).as(expect[0]).contains("x-upstream: " + expect[1]);
      }
      IngressGatewayTest.Curl other = curl("--resolve", "shop.other.org:" + tls + ":127.0.0.1", "--insecure",
          "https://shop.other.org:" + tls + "/hello");
      assertThat(other.exit()).as("an SNI outside the listener's hostname: no filter chain").isNotZero();
      assertThat(other.out()).doesNotContain("x-upstream");

      // gRPC: h2c to the gateway, HTTP/2 over mesh mTLS to the grpc-java server's sidecar.
      ManagedChannel ch = GrpcMeshApp.channel("127.0.0.1", http, "grpc.example.com");
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
          try {
            return GrpcMeshApp.unary(ch, "hi").equals("v1:hi");
          } catch (RuntimeException e) {
            return false;
          }
        });
        assertThat(GrpcMeshApp.count(ch, 3)).containsExactly("v1:0", "v1:1", "v1:2");
        assertThat(GrpcMeshApp.chat(ch, "x", "y")).containsExactly("v1 echo x", "v1 echo y");
      } finally {
        ch.shutdownNow();
      }
      assertThat(gateway.server().snapshot().config().listeners()).extracting(l -> l.name())
          .containsExactlyInAnyOrder("127.0.0.1_" + tls, "127.0.0.1_" + tcp, "127.0.0.1_" + http);
    }
  }

  @Test
  void referenceGrantsLetAGatewayUseASecretAndARouteAServiceOfAnotherNamespace() throws Exception {
    int https = freePort();
    TestCa ca = new TestCa("web-ca");
    TestCa.Leaf cert = ca.issue("secure.example.com", "secure.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        io.keelson.control.demo.SampleService v1 = new io.keelson.control.demo.SampleService("product", "v1")
            .start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v1.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "edge", "web", SidecarBootstrap.gateway("127.0.0.1",
            cp.security.securePort().port(), "web", Map.of("gateway.networking.k8s.io/gateway-name", "web"),
            "127.0.0.1", "127.0.0.1", 0))) {
      String yaml = """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: product-service }
          spec: { ports: [ { name: http, port: 80 } ] }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: web-cert, namespace: certs }
          type: kubernetes.io/tls
          data: { tls.crt: %2$s, tls.key: %3$s }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: web, namespace: edge }
          spec:
            gatewayClassName: keelson
            listeners:
            - name: https
              port: %1$d
              protocol: HTTPS
              hostname: secure.example.com
              tls: { certificateRefs: [ { name: web-cert, namespace: certs } ] }
              allowedRoutes: { namespaces: { from: All } }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: { name: shop }
          spec:
            parentRefs: [ { name: web, namespace: edge } ]
            rules: [ { backendRefs: [ { name: product-service, port: 80 } ] } ]
          """.formatted(https, IngressGatewayTest.b64(cert.certPem()), IngressGatewayTest.b64(cert.keyPem()));
      String grants = """
          ---
          apiVersion: gateway.networking.k8s.io/v1beta1
          kind: ReferenceGrant
          metadata: { name: edge-gateways, namespace: certs }
          spec:
            from: [ { group: gateway.networking.k8s.io, kind: Gateway, namespace: edge } ]
            to: [ { group: "", kind: Secret, name: web-cert } ]
          """;
      // Without the grant nothing is applied: the reference is named.
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> cp.store.apply(PolicyParser.parse("web.yaml", yaml)
          .policies(), false))
          .hasMessageContaining("Gateway/edge/web: spec.listeners[0].tls.certificateRefs[0].namespace: Secret"
              + " certs/web-cert is in another namespace");
      cp.store.apply(PolicyParser.parse("web.yaml", yaml + grants).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        IngressGatewayTest.Curl ok = curl("--resolve", "secure.example.com:" + https + ":127.0.0.1", "--cacert",
            caFile.toString(), "https://secure.example.com:" + https + "/items");
        return ok.exit() == 0 && ok.out().contains("x-served-by: product-v1");
      });
      // A grant still in use cannot be deleted; the gateway keeps serving.
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> cp.store.delete("ReferenceGrant", "certs",
          "edge-gateways", false)).hasMessageContaining("would break if ReferenceGrant/certs/edge-gateways were deleted");
      IngressGatewayTest.Curl still = curl("--resolve", "secure.example.com:" + https + ":127.0.0.1", "--cacert",
          caFile.toString(), "https://secure.example.com:" + https + "/items");
      assertThat(still.out()).contains("x-served-by: product-v1");
    }
  }

  @Test
  void istioWildcardSniHostsRouteByTheMostSpecificName() throws Exception {
    int tls = freePort();
    TestCa ca = new TestCa("apps-ca");
    TestCa.Leaf certA = ca.issue("a.example.com", "a.example.com");
    TestCa.Leaf certB = ca.issue("wildcard.example.com", "*.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        TestUpstream appA = new TestUpstream("app-a", SslContextBuilder.forServer(certA.key(), certA.cert()).build());
        TestUpstream appB = new TestUpstream("app-b", SslContextBuilder.forServer(certB.key(), certB.cert()).build());
        Sidecar sideA = SidecarTcpAuthorizationTest.tcpSidecar(cp, "app-a", "app-a", appA.port());
        Sidecar sideB = SidecarTcpAuthorizationTest.tcpSidecar(cp, "app-b", "app-b", appB.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("istio.yaml", """
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
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: ingress, namespace: istio-system }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: %1$d, name: tls, protocol: TLS }
              hosts: [ "*.example.com" ]
              tls: { mode: PASSTHROUGH }
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: passthrough }
          spec:
            hosts: [ "*.example.com" ]
            gateways: [ istio-system/ingress ]
            tls:
            - match: [ { port: %1$d, sniHosts: [ "*.example.com" ] } ]
              route: [ { destination: { host: app-b } } ]
            - match: [ { port: %1$d, sniHosts: [ a.example.com ] } ]
              route: [ { destination: { host: app-a } } ]
          """.formatted(tls)).policies(), false);
      // The wildcard rule comes first, yet the exact name wins its SNI, as in Envoy.
      for (String[] expect : new String[][] {{"a.example.com", "app-a"}, {"b.example.com", "app-b"}}) {
        await().atMost(Duration.ofSeconds(20)).until(() -> curl("--resolve", expect[0] + ":" + tls + ":127.0.0.1",
            "--cacert", caFile.toString(), "https://" + expect[0] + ":" + tls + "/hello").out()
            .contains("x-upstream: " + expect[1]));
      }
      IngressGatewayTest.Curl apex = curl("--resolve", "example.com:" + tls + ":127.0.0.1", "--insecure",
          "https://example.com:" + tls + "/hello");
      assertThat(apex.exit()).as("*.example.com does not take example.com").isNotZero();
      assertThat(apex.out()).doesNotContain("x-upstream");
    }
  }
}
