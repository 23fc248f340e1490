package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.ProxyStatus;
import io.keelson.dataplane.security.StaticCertificateSource;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestCa;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An ingress gateway proxy programmed by Istio Gateway + VirtualService: external clients (raw sockets, curl for
 * HTTPS with SNI) reach product-service v1/v2 behind STRICT-mTLS sidecars that allow only the gateway's SPIFFE
 * identity; unknown hosts get 404, a wrong SNI is refused, httpsRedirect answers 301, a route changes live, and SIMPLE
 * and MUTUAL servers on one port each serve only their own hosts (curl, real sockets).
 */
class IngressGatewayTest {
  static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/ingress";

  @TempDir
  Path dir;

  @Test
  void gatewayServesExternalHostsOverMeshMtlsTerminatesHttpsAndFollowsLiveChanges() throws Exception {
    int http = freePort();
    int redirect = freePort();
    int https = freePort();
    int mutual = freePort();
    TestCa ca = new TestCa("shop-ca");
    TestCa.Leaf cert = ca.issue("secure.example.com", "secure.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    TestCa.Leaf mtlsCert = ca.issue("mtls.example.com", "mtls.example.com");
    Path client = ca.issue("client").write(dir, "client");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService v1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService v2 = new SampleService("product", "v2").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v1.port(), Map.of("version", "v1"));
        Sidecar p2 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v2.port(), Map.of("version", "v2"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", mesh(http, redirect, https, mutual, cert, mtlsCert, ca, "v1")).policies(), false);

      // HTTP by Host and header to v1/v2, through the backend sidecars' STRICT mTLS as the gateway's identity.
      await().atMost(Duration.ofSeconds(20)).until(() -> served(http, "shop.example.com", "").equals("product-v1"));
      assertThat(served(http, "shop.example.com", "x-version: v2\r\n")).isEqualTo("product-v2");
      assertThat(served(http, "shop.example.com:" + http, "")).isEqualTo("product-v1");
      try (RawHttp c = new RawHttp(http)) {
        RawHttp.Response r = c.send("GET /items HTTP/1.1\r\nHost: shop.example.com\r\n\r\n").read();
        assertThat(r.header("x-caller-cert")).as("the backend sidecar verified the gateway's certificate")
            .contains("URI=" + GATEWAY_ID);
      }
      assertThat(served(http, "unknown.example.com", "")).isEqualTo("status 404");
      // The AuthorizationPolicy admits only the gateway: another mesh identity is refused at the backend.
      var other = cp.security.ca();
      var tester = new StaticCertificateSource(SidecarMtlsTest.svid(other, other.identity("default", "tester")), other.roots());
      assertThat(SidecarMtlsTest.overMtls(p1.inboundAddress().getPort(), tester)).startsWith("HTTP/1.1 403");
      // No sidecar listeners on a gateway: only its Gateway's servers.
      assertThat(gateway.server().snapshot().config().listeners()).extracting(l -> l.name())
          .containsExactlyInAnyOrder("127.0.0.1_" + http, "127.0.0.1_" + redirect, "127.0.0.1_" + https,
              "127.0.0.1_" + mutual);

      // httpsRedirect: 301 to https.
      try (RawHttp c = new RawHttp(redirect)) {
        RawHttp.Response r = c.send("GET /items?a=1 HTTP/1.1\r\nHost: secure.example.com\r\n\r\n").read();
        assertThat(r.status()).isEqualTo(301);
        assertThat(r.header("location")).startsWith("https://secure.example.com").endsWith("/items?a=1");
      }

      // HTTPS: the Secret's certificate for SNI secure.example.com; another name is refused.
      awaitBound(gateway, https, mutual);
      Curl ok = curl("--resolve", "secure.example.com:" + https + ":127.0.0.1", "--cacert", caFile.toString(),
          "https://secure.example.com:" + https + "/items");
      assertThat(ok.exit).as(ok.err).isZero();
      assertThat(ok.out).contains("x-served-by: product-v1");
      Curl wrong = curl("--resolve", "other.example.com:" + https + ":127.0.0.1", "--insecure",
          "https://other.example.com:" + https + "/items");
      assertThat(wrong.exit).as("a name no server has: no filter chain, the connection is closed").isNotZero();
      assertThat(wrong.out).doesNotContain("x-served-by");

      // MUTUAL: a client certificate from the Secret's ca.crt is required; minProtocolVersion TLSV1_3.
      String resolve = "mtls.example.com:" + mutual + ":127.0.0.1";
      String url = "https://mtls.example.com:" + mutual + "/items";
      Curl withCert = curl("--resolve", resolve, "--cacert", caFile.toString(), "--cert", client.toString(), "--key",
          client.resolveSibling("client.key").toString(), url);
      assertThat(withCert.exit).as(withCert.err).isZero();
      assertThat(withCert.out).contains("x-served-by: product-v1");
      Curl withoutCert = curl("--resolve", resolve, "--cacert", caFile.toString(), url);
      assertThat(withoutCert.out).doesNotContain("x-served-by");
      Curl tls12 = curl("--resolve", resolve, "--cacert", caFile.toString(), "--cert", client.toString(), "--key",
          client.resolveSibling("client.key").toString(), "--tls-max", "1.2", url);
      assertThat(tls12.exit).as("TLS 1.2 under minProtocolVersion TLSV1_3").isNotZero();

      // The gateway shows in status, as a gateway, with its types ACKed.
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.status().stream()
          .anyMatch(s -> s.gateway() != null && s.nodeId().equals(gateway.nodeId())
              && s.types().values().stream().allMatch(t -> t.state().equals("ACK"))));

      // Neither get nor proxy-config prints a key.
      String keyLine = cert.keyPem().lines().skip(1).findFirst().orElseThrow();
      var api = java.net.http.HttpClient.newHttpClient();
      for (String path : List.of("/v1/resources/secret", "/v1/resources", "/v1/proxy-config/" + gateway.nodeId() + "/listeners")) {
        String body;
        try {
          body = api.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
              + cp.api.port() + path)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
          throw new AssertionError(path, e);
        }
        assertThat(body).as(path).doesNotContain(keyLine).doesNotContain(b64(cert.keyPem()));
        if (path.contains("proxy-config")) { // over SDS the listener names the credential, it carries no key at all
          assertThat(body).as(path).contains("kubernetes://istio-system/secure-cert");
        } else {
          assertThat(body).as(path).contains("<redacted>");
        }
      }

      // A route changed live: the default now goes to v2.
      cp.store.apply(PolicyParser.parse("mesh.yaml", mesh(http, redirect, https, mutual, cert, mtlsCert, ca, "v2")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> served(http, "shop.example.com", "").equals("product-v2"));
    }
  }

  @Test
  void simpleAndMutualServersOnOnePortServeOnlyTheirOwnHosts() throws Exception {
    int http = freePort();
    int redirect = freePort();
    int https = freePort();
    TestCa ca = new TestCa("shop-ca");
    TestCa.Leaf cert = ca.issue("secure.example.com", "secure.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    TestCa.Leaf mtlsCert = ca.issue("mtls.example.com", "mtls.example.com");
    Path client = ca.issue("client").write(dir, "client");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService v1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v1.port(), Map.of("version", "v1"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1", "127.0.0.1", 0))) {
      // The SIMPLE server (secure.example.com) and the MUTUAL one (mtls.example.com) on ONE port.
      cp.store.apply(PolicyParser.parse("mesh.yaml", mesh(http, redirect, https, https, cert, mtlsCert, ca, "v1")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> served(http, "shop.example.com", "").equals("product-v1"));
      awaitBound(gateway, https);

      String simpleSni = "secure.example.com:" + https + ":127.0.0.1";
      Curl simple = curl("--resolve", simpleSni, "--cacert", caFile.toString(), "https://secure.example.com:" + https + "/items");
      assertThat(simple.exit).as(simple.err).isZero();
      assertThat(simple.out).contains("x-served-by: product-v1");
      // The SIMPLE server's SNI (no client certificate) with the MUTUAL server's Host: not its routes.
      Curl sneaky = curl("--resolve", simpleSni, "--cacert", caFile.toString(), "-H", "Host: mtls.example.com",
          "https://secure.example.com:" + https + "/items");
      assertThat(sneaky.exit).as(sneaky.err).isZero();
      assertThat(sneaky.out).containsPattern("^HTTP/[0-9.]+ 404").doesNotContain("x-served-by");

      String mutualSni = "mtls.example.com:" + https + ":127.0.0.1";
      String url = "https://mtls.example.com:" + https + "/items";
      Curl withCert = curl("--resolve", mutualSni, "--cacert", caFile.toString(), "--cert", client.toString(), "--key",
          client.resolveSibling("client.key").toString(), url);
      assertThat(withCert.exit).as(withCert.err).isZero();
      assertThat(withCert.out).contains("x-served-by: product-v1")
          .as("curl chose h2 by ALPN: the second chain's connection manager serves after the HTTP/2 switch too")
          .startsWith("HTTP/2 200");
      Curl http1 = curl("--http1.1", "--resolve", mutualSni, "--cacert", caFile.toString(), "--cert", client.toString(),
          "--key", client.resolveSibling("client.key").toString(), url);
      assertThat(http1.out).startsWith("HTTP/1.1 200").contains("x-served-by: product-v1");
      Curl withoutCert = curl("--resolve", mutualSni, "--cacert", caFile.toString(), url);
      assertThat(withoutCert.out).doesNotContain("x-served-by");
    }
  }

  @Test
  void gatewayApiGatewayAndHttpRouteProgramAGatewayLabelledWithTheGatewaysName() throws Exception {
    int http = freePort();
    int https = freePort();
    TestCa ca = new TestCa("web-ca");
    TestCa.Leaf cert = ca.issue("secure.example.com", "secure.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService v1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v1.port(), Map.of("version", "v1"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "edge", "web", SidecarBootstrap.gateway("127.0.0.1",
            cp.security.securePort().port(), "web", Map.of("gateway.networking.k8s.io/gateway-name", "web"),
            "127.0.0.1", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("web.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: product-service }
          spec: { ports: [ { name: http, port: 80 } ] }
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          ---
          apiVersion: v1
          kind: Secret
          metadata: { name: web-cert, namespace: edge }
          type: kubernetes.io/tls
          data: { tls.crt: %3$s, tls.key: %4$s }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: web, namespace: edge }
          spec:
            gatewayClassName: istio
            listeners:
            - { name: http, port: %1$d, protocol: HTTP, hostname: shop.example.com,
                allowedRoutes: { namespaces: { from: All } } }
            - name: https
              port: %2$d
              protocol: HTTPS
              hostname: secure.example.com
              tls: { mode: Terminate, certificateRefs: [ { name: web-cert } ] }
              allowedRoutes: { namespaces: { from: All } }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: { name: shop }
          spec:
            parentRefs: [ { name: web, namespace: edge } ]
            rules:
            - matches: [ { path: { type: PathPrefix, value: /items } } ]
              backendRefs: [ { name: product-service, port: 80 } ]
          """.formatted(http, https, b64(cert.certPem()), b64(cert.keyPem()))).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> served(http, "shop.example.com", "").equals("product-v1"));
      assertThat(served(http, "secure.example.com", "")).as("the http listener's hostname only").isEqualTo("status 404");
      try (RawHttp c = new RawHttp(http)) {
        RawHttp.Response r = c.send("GET /items HTTP/1.1\r\nHost: shop.example.com\r\n\r\n").read();
        assertThat(r.header("x-caller-cert")).contains("URI=spiffe://cluster.local/ns/edge/sa/web");
      }
      awaitBound(gateway, https);
      Curl ok = curl("--resolve", "secure.example.com:" + https + ":127.0.0.1", "--cacert", caFile.toString(),
          "https://secure.example.com:" + https + "/items");
      assertThat(ok.exit).as(ok.err).isZero();
      assertThat(ok.out).contains("x-served-by: product-v1");
    }
  }

  @Test
  void tlsPassthroughBySniAndTcpServersRelayToTcpSidecarsOverMeshMtls() throws Exception {
    int tls = freePort();
    int tcp = freePort();
    TestCa ca = new TestCa("app-ca");
    TestCa.Leaf appCert = ca.issue("app.example.com", "app.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        io.keelson.dataplane.testing.TestUpstream secureApp = new io.keelson.dataplane.testing.TestUpstream("secure-app",
            io.netty.handler.ssl.SslContextBuilder.forServer(appCert.key(), appCert.cert()).build());
        SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar appSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "secure-app", "app", secureApp.port());
        Sidecar echoSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", echo.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("streams.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: secure-app }
          spec: { ports: [ { name: tls, port: 443, protocol: TLS } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: tcp-echo }
          spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
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
            - port: { number: %2$d, name: tcp, protocol: TCP }
              hosts: [ "*" ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: streams }
          spec:
            hosts: [ "*.example.com" ]
            gateways: [ istio-system/ingress ]
            tls:
            - match: [ { port: %1$d, sniHosts: [ app.example.com ] } ]
              route: [ { destination: { host: secure-app } } ]
            tcp:
            - match: [ { port: %2$d } ]
              route: [ { destination: { host: tcp-echo } } ]
          """.formatted(tls, tcp)).policies(), false);
      // TCP: the gateway's tcp_proxy, then mesh mTLS to the echo's STRICT sidecar.
      await().atMost(Duration.ofSeconds(20)).until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));
      // TLS passthrough: the app's own certificate reaches curl (SNI app.example.com); the gateway holds no key.
      Curl ok = curl("--resolve", "app.example.com:" + tls + ":127.0.0.1", "--cacert", caFile.toString(),
          "https://app.example.com:" + tls + "/hello");
      assertThat(ok.exit).as(ok.err).isZero();
      assertThat(ok.out).contains("x-upstream: secure-app");
      Curl other = curl("--resolve", "other.example.com:" + tls + ":127.0.0.1", "--insecure",
          "https://other.example.com:" + tls + "/hello");
      assertThat(other.exit).as("an SNI no tls rule names: no filter chain").isNotZero();
      assertThat(other.out).doesNotContain("x-upstream");
    }
  }

  /** The mesh: product-service v1/v2 under STRICT mTLS, only the gateway allowed; its Gateway, Secret and routes. */
  static String mesh(int http, int redirect, int https, int mutual, TestCa.Leaf cert, TestCa.Leaf mtlsCert, TestCa ca,
      String defaultVersion) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product-service }
        spec:
          host: product-service
          subsets: [ { name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } } ]
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: { name: default, namespace: default }
        spec: { mtls: { mode: STRICT } }
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: only-the-gateway, namespace: default }
        spec:
          action: ALLOW
          rules: [ { from: [ { source: { principals: [ "cluster.local/ns/istio-system/sa/ingress" ] } } ] } ]
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: secure-cert, namespace: istio-system }
        type: kubernetes.io/tls
        data:
          tls.crt: %4$s
          tls.key: %5$s
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: mtls-cert, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %8$s, tls.key: %9$s, ca.crt: %10$s }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: %1$d, name: http, protocol: HTTP }
            hosts: [ shop.example.com ]
          - port: { number: %2$d, name: http-redirect, protocol: HTTP }
            hosts: [ secure.example.com ]
            tls: { httpsRedirect: true }
          - port: { number: %3$d, name: https, protocol: HTTPS }
            hosts: [ "secure.example.com" ]
            tls: { mode: SIMPLE, credentialName: secure-cert, minProtocolVersion: TLSV1_2 }
          - port: { number: %7$d, name: https-mtls, protocol: HTTPS }
            hosts: [ mtls.example.com ]
            tls: { mode: MUTUAL, credentialName: mtls-cert, minProtocolVersion: TLSV1_3 }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com, secure.example.com, mtls.example.com ]
          gateways: [ istio-system/ingress ]
          http:
          - match: [ { headers: { x-version: { exact: v2 } } } ]
            route: [ { destination: { host: product-service, subset: v2 } } ]
          - route: [ { destination: { host: product-service.default.svc.cluster.local, subset: %6$s } } ]
        """.formatted(http, redirect, https, b64(cert.certPem()), b64(cert.keyPem()), defaultVersion, mutual,
        b64(mtlsCert.certPem()), b64(mtlsCert.keyPem()), b64(ca.certPem()));
  }

  static String b64(String pem) {
    return Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII));
  }

  /** x-served-by of one request to the gateway with {@code Host: host}, or "status N". */
  static String served(int port, String host, String headers) throws IOException {
    try (RawHttp c = new RawHttp(port)) {
      RawHttp.Response r = c.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\n" + headers + "\r\n").read();
      return r.status() == 200 ? r.header("x-served-by") : "status " + r.status();
    } catch (IOException e) {
      return "refused: " + e.getMessage();
    }
  }

  /**
   * Waits until the gateway has bound its listeners on {@code ports}. An HTTPS server's listener warms on its SDS
   * secret and is bound only once the secret arrives, after the plain listeners of the same LDS update serve; that
   * update is ACKed while it warms (as Envoy ACKs a warming listener), so neither an answer on the HTTP port nor an
   * ACK says the HTTPS port is there yet.
   */
  static void awaitBound(Sidecar gateway, int... ports) {
    List<String> names = java.util.Arrays.stream(ports).mapToObj(p -> "127.0.0.1_" + p).toList();
    await("listeners " + names + " bound").atMost(Duration.ofSeconds(20))
        .until(() -> gateway.server().boundListeners().keySet().containsAll(names));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  record Curl(int exit, String out, String err) {}

  /** Runs curl (headers and body to out) with a 10 s limit. */
  static Curl curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    return new Curl(p.exitValue(), out, err);
  }
}
