package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.security.ExtensionProviders;
import io.keelson.dataplane.filter.extauthz.GrpcAuthzServer;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestJwts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * End to end, real processes' sockets: an ingress gateway in {@code istio-system} (labels {@code istio: ingressgateway})
 * enforcing the AuthorizationPolicies and RequestAuthentications that select it, as istiod programs a gateway: DENY on
 * a path (the backend never sees it), JWT at the edge with an ALLOW on {@code requestPrincipals}, {@code remoteIpBlocks}
 * against the peer's address (the edge trusts no x-forwarded-for), CUSTOM with an HTTP authorizer, CUSTOM with a gRPC
 * authorizer on a TCP server (network ext_authz; an undefined provider closes every connection), network RBAC on a TCP
 * server; a policy whose selector names another gateway changes nothing.
 */
class GatewayAuthorizationTest {
  private static final String ISS = "https://idp.example";
  private static final Map<String, String> LABELS = Map.of("istio", "ingressgateway");

  private static String routes(int http, int tcp) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: tcp-echo }
        spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: %1$d, name: http, protocol: HTTP }
            hosts: [ shop.example.com ]
          - port: { number: %2$d, name: tcp, protocol: TCP }
            hosts: [ "*" ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com ]
          gateways: [ istio-system/ingress ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
          tcp: [ { match: [ { port: %2$d } ], route: [ { destination: { host: tcp-echo } } ] } ]
        """.formatted(http, tcp);
  }

  /** An HTTPS server (SIMPLE, the Secret's certificate for secure.example.com) on {@code https}, routed to the backend. */
  private static String secure(int https, io.keelson.dataplane.testing.TestCa.Leaf cert) {
    return """
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: secure-cert, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %2$s, tls.key: %3$s }
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: secure, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: %1$d, name: https, protocol: HTTPS }
            hosts: [ secure.example.com ]
            tls: { mode: SIMPLE, credentialName: secure-cert }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: secure }
        spec:
          hosts: [ secure.example.com ]
          gateways: [ istio-system/secure ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
        """.formatted(https, IngressGatewayTest.b64(cert.certPem()), IngressGatewayTest.b64(cert.keyPem()));
  }

  /** curl over HTTPS to secure.example.com on {@code https} (SNI and certificate checked): "STATUS BODY". */
  private IngressGatewayTest.Curl overHttps(int https, String path) throws Exception {
    return IngressGatewayTest.curl("--resolve", "secure.example.com:" + https + ":127.0.0.1", "--cacert",
        caFile.toString(), "https://secure.example.com:" + https + path);
  }

  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dir;
  private java.nio.file.Path caFile;

  private static String policy(String name, String action, String selector, String rules) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: %s, namespace: istio-system }
        spec:
          selector: { matchLabels: { %s } }
          action: %s
          rules: %s
        """.formatted(name, selector, action, rules);
  }

  /** The backend: answers 200 "path=P" and records every path it is asked for. */
  private static HttpServer app(List<String> seen) throws IOException {
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", ex -> {
      seen.add(ex.getRequestURI().getPath());
      String user = ex.getRequestHeaders().getFirst("x-user");
      byte[] body = ("path=" + ex.getRequestURI().getPath() + " user=" + (user == null ? "-" : user))
          .getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    app.start();
    return app;
  }

  private static RawHttp.Response get(int port, String path, String headers) throws IOException {
    try (RawHttp c = new RawHttp(port)) {
      return c.send("GET " + path + " HTTP/1.1\r\nHost: shop.example.com\r\n" + headers + "\r\n").read();
    }
  }

  private static int status(int port, String path, String headers) {
    try {
      return get(port, path, headers).status();
    } catch (IOException e) {
      return -1;
    }
  }

  private static Sidecar gateway(ControlPlane cp) throws Exception {
    return SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway("127.0.0.1",
        cp.security.securePort().port(), "ingress", LABELS, "127.0.0.1", "127.0.0.1", 0));
  }

  /** True when a listener the control plane gives the gateway names {@code filter}. */
  private static boolean given(ControlPlane cp, Sidecar gw, String filter) {
    return cp.xds.resourcesFor(gw.nodeId()).listeners().toString().contains(filter);
  }

  @Test
  void denyByPathJwtAtTheEdgeAndRemoteIpBlocksAreEnforcedByTheGateway() throws Exception {
    int http = freePort();
    int tcp = freePort();
    int https = freePort();
    var ca = new io.keelson.dataplane.testing.TestCa("edge-ca");
    var cert = ca.issue("secure.example.com", "secure.example.com");
    caFile = ca.write(dir, "ca.pem");
    TestJwts keys = new TestJwts();
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer backend = app(seen);
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        Sidecar product = SidecarMtlsTest.secureSidecar(cp, "product-service", "product",
            backend.getAddress().getPort(), Map.of("app", "product"));
        Sidecar gw = gateway(cp)) {
      String base = routes(http, tcp) + secure(https, cert);
      cp.store.apply(PolicyParser.parse("routes.yaml", base).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/items", "") == 200);
      await().atMost(Duration.ofSeconds(30)).until(() -> overHttps(https, "/admin/x").out().contains("path=/admin/x"));

      assertThat(given(cp, gw, "envoy.filters.http.rbac")).as("no RBAC on the gateway yet").isFalse();

      // (a) DENY /admin* selecting the gateway: 403 at the gateway, other paths pass, the backend never sees /admin.
      // (f) In the same change, a DENY of /items* for another gateway's labels: it changes nothing here.
      cp.store.apply(PolicyParser.parse("deny.yaml", policy("no-admin", "DENY", "istio: ingressgateway",
          "[ { to: [ { operation: { paths: [ \"/admin*\" ] } } ] } ]") + "---\n" + policy("eastwest-items", "DENY",
          "istio: eastwestgateway", "[ { to: [ { operation: { paths: [ \"/items*\" ] } } ] } ]")).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/admin/users", "") == 403);
      seen.clear();
      RawHttp.Response denied = get(http, "/admin", "");
      assertThat(denied.status()).isEqualTo(403);
      assertThat(denied.body()).isEqualTo("RBAC: access denied");
      assertThat(get(http, "/items", "").body()).isEqualTo("path=/items user=-");
      assertThat(status(http, "/administrator", "")).isEqualTo(403);
      // Istio's default path normalization (BASE) on the gateway's connection managers: no way around the DENY by dot
      // segments or escaped unreserved characters.
      for (String bypass : List.of("/./admin", "/items/../admin/x", "/%61dmin", "/items/%2e%2e/admin")) {
        assertThat(status(http, bypass, "")).as(bypass).isEqualTo(403);
      }
      assertThat(seen).containsExactly("/items");
      // The HTTPS server's SNI-selected chain has its own connection manager: the same policy there.
      IngressGatewayTest.Curl secureAdmin = overHttps(https, "/admin/x");
      assertThat(secureAdmin.exit()).as(secureAdmin.err()).isZero();
      assertThat(secureAdmin.out()).containsPattern("^HTTP/[0-9.]+ 403").contains("RBAC: access denied");
      assertThat(overHttps(https, "/items").out()).containsPattern("^HTTP/[0-9.]+ 200").contains("path=/items");
      assertThat(seen).containsExactly("/items", "/items");

      // (b) JWT at the edge: RequestAuthentication + ALLOW requestPrincipals ["*"].
      cp.store.delete("AuthorizationPolicy", "istio-system", "no-admin", false);
      cp.store.delete("AuthorizationPolicy", "istio-system", "eastwest-items", false);
      cp.store.apply(PolicyParser.parse("jwt.yaml", """
          apiVersion: security.istio.io/v1
          kind: RequestAuthentication
          metadata: { name: idp, namespace: istio-system }
          spec:
            selector: { matchLabels: { istio: ingressgateway } }
            jwtRules: [ { issuer: "%s", jwks: '%s' } ]
          ---
          """.formatted(ISS, keys.jwks()) + policy("users", "ALLOW", "istio: ingressgateway",
          "[ { from: [ { source: { requestPrincipals: [ \"*\" ] } } ] } ]")).policies(), false);
      String good = "authorization: Bearer " + keys.rs256(TestJwts.claims(ISS, "alice", null)) + "\r\n";
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/items", "") == 403); // no token: denied
      assertThat(status(http, "/items", good)).as("a good token").isEqualTo(200);
      assertThat(status(http, "/items", "authorization: Bearer "
          + keys.rs256SignedBy(new TestJwts().rsa, TestJwts.claims(ISS, "alice", null)) + "\r\n")).as("forged token")
          .isEqualTo(401);
      assertThat(status(http, "/items", "authorization: Bearer "
          + keys.rs256(TestJwts.claims("https://evil.example", "alice", null)) + "\r\n")).as("unknown issuer")
          .isEqualTo(401);
      assertThat(status(http, "/admin", good)).as("the DENY is gone with deny.yaml's policy").isEqualTo(200);

      // (c) remoteIpBlocks: the gateway is the edge (use_remote_address, no trusted hops), so its remote address is the
      // peer's (127.0.0.1 on loopback) and a client's x-forwarded-for is not believed, either way.
      cp.store.delete("AuthorizationPolicy", "istio-system", "users", false);
      cp.store.delete("RequestAuthentication", "istio-system", "idp", false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/items", "") == 200); // the ALLOW is gone
      cp.store.apply(PolicyParser.parse("ip.yaml", policy("block-documentation-net", "DENY", "istio: ingressgateway",
          "[ { from: [ { source: { remoteIpBlocks: [ 203.0.113.0/24 ] } } ] }, "
              + "{ to: [ { operation: { paths: [ \"/probe\" ] } } ] } ]")).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/probe", "") == 403); // the policy is in force
      assertThat(status(http, "/items", "x-forwarded-for: 203.0.113.9\r\n"))
          .as("a spoofed x-forwarded-for does not make the peer 203.0.113.9").isEqualTo(200);
      cp.store.delete("AuthorizationPolicy", "istio-system", "block-documentation-net", false);
      cp.store.apply(PolicyParser.parse("ip.yaml", policy("block-loopback", "DENY",
          "istio: ingressgateway", "[ { from: [ { source: { remoteIpBlocks: [ 127.0.0.1/32 ] } } ] } ]"))
          .policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/items", "") == 403);
      assertThat(status(http, "/items", "x-forwarded-for: 198.51.100.7\r\n"))
          .as("x-forwarded-for does not hide the peer 127.0.0.1").isEqualTo(403);

      // Back to no policy: served again.
      cp.store.delete("AuthorizationPolicy", "istio-system", "block-loopback", false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/items", "") == 200);
    } finally {
      backend.stop(0);
    }
  }

  @Test
  void customPolicyOnTheGatewayAsksTheHttpAuthorizerAboutTheRequestsItMatchesOnly() throws Exception {
    int http = freePort();
    int tcp = freePort();
    List<String> checked = new CopyOnWriteArrayList<>();
    HttpServer authz = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    authz.createContext("/", ex -> {
      checked.add(ex.getRequestURI().getPath());
      boolean allow = "yes".equals(ex.getRequestHeaders().getFirst("x-allow"));
      if (allow) {
        ex.getResponseHeaders().add("x-user", "alice");
      }
      byte[] body = (allow ? "" : "denied by authz").getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(allow ? 200 : 403, body.length == 0 ? -1 : body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    authz.start();
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer backend = app(seen);
    ExtensionProviders providers = ExtensionProviders.parse("mesh.yaml", """
        extensionProviders:
        - name: oauth-proxy
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: %d
            timeout: 2s
            pathPrefix: /check
            includeRequestHeadersInCheck: [ x-allow ]
            headersToUpstreamOnAllow: [ x-user ]
        """.formatted(authz.getAddress().getPort()));
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0).withExtensionProviders(providers));
        Sidecar product = SidecarMtlsTest.secureSidecar(cp, "product-service", "product",
            backend.getAddress().getPort(), Map.of("app", "product"));
        Sidecar gw = gateway(cp)) {
      String base = routes(http, tcp);
      cp.store.apply(PolicyParser.parse("routes.yaml", base).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/admin/x", "") == 200);
      cp.store.apply(PolicyParser.parse("custom.yaml", """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: ext, namespace: istio-system }
          spec:
            selector: { matchLabels: { istio: ingressgateway } }
            action: CUSTOM
            provider: { name: oauth-proxy }
            rules: [ { to: [ { operation: { paths: [ "/admin/*" ] } } ] } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/admin/x", "") == 403);
      assertThat(get(http, "/admin/x", "").body()).isEqualTo("denied by authz");
      RawHttp.Response allowed = get(http, "/admin/x", "x-allow: yes\r\n");
      assertThat(allowed.status()).isEqualTo(200);
      assertThat(allowed.body()).isEqualTo("path=/admin/x user=alice");
      int before = checked.size();
      assertThat(get(http, "/public", "").body()).isEqualTo("path=/public user=-");
      assertThat(checked).hasSize(before).isNotEmpty().allMatch(p -> p.equals("/check/admin/x"));
      // The gateway also has a TCP server, which an HTTP provider cannot check: its status says so.
      await().atMost(Duration.ofSeconds(20)).until(() -> cp.xds.status().stream()
          .anyMatch(s -> s.nodeId().equals(gw.nodeId()) && s.warnings().stream()
              .anyMatch(w -> w.contains("istio-system/ext") && w.contains("not enforced")
                  && w.contains("'oauth-proxy' is envoyExtAuthzHttp"))));
    } finally {
      authz.stop(0);
      backend.stop(0);
    }
  }

  @Test
  void networkRbacOnATcpServerRefusesConnectionsItsAllowRulesDoNotMatch() throws Exception {
    int http = freePort();
    int tcp = freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echoSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", echo.port());
        Sidecar gw = gateway(cp)) {
      String base = routes(http, tcp);
      cp.store.apply(PolicyParser.parse("routes.yaml", base).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));
      // ALLOW only from 10.0.0.0/8: the loopback client is refused.
      cp.store.apply(PolicyParser.parse("allow.yaml", policy("private-only", "ALLOW",
          "istio: ingressgateway", "[ { from: [ { source: { ipBlocks: [ 10.0.0.0/8 ] } } ] } ]")).policies(), false);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals(SidecarTcpAuthorizationTest.CLOSED));
      // ALLOW from loopback to this port: admitted; to another port only: refused.
      String toTcp = "[ { from: [ { source: { ipBlocks: [ 127.0.0.1/32 ] } } ], to: [ { operation: { ports: [ \""
          + tcp + "\" ] } } ] } ]";
      cp.store.apply(PolicyParser.parse("allow.yaml", policy("private-only", "ALLOW", "istio: ingressgateway", toTcp))
          .policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));
      cp.store.apply(PolicyParser.parse("allow.yaml", policy("private-only", "ALLOW", "istio: ingressgateway",
          "[ { from: [ { source: { ipBlocks: [ 127.0.0.1/32 ] } } ], to: [ { operation: { ports: [ \"" + http
              + "\" ] } } ] } ]")).policies(), false);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals(SidecarTcpAuthorizationTest.CLOSED));
      cp.store.apply(PolicyParser.parse("allow.yaml", policy("private-only", "ALLOW", "istio: ingressgateway", toTcp))
          .policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));
      // An HTTP-only ALLOW rule (a path) cannot match a connection: dropped at L4, so nothing is admitted.
      cp.store.apply(PolicyParser.parse("allow.yaml", policy("private-only", "ALLOW", "istio: ingressgateway",
          "[ { to: [ { operation: { paths: [ \"/x\" ] } } ] } ]")).policies(), false);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals(SidecarTcpAuthorizationTest.CLOSED));
    }
  }
  /**
   * "world" in plaintext to {@code port} from a socket bound before it connects, its local port first added to the
   * authorizer's allowed ones when {@code allow}: the echo's answer, or {@link SidecarTcpAuthorizationTest#CLOSED}.
   */
  private static String fromPort(int port, GrpcAuthzServer authz, boolean allow) {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      if (allow) {
        authz.allowedSourcePorts.add(s.getLocalPort());
      }
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write("world\n".getBytes(StandardCharsets.US_ASCII));
      String line = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      return line == null ? SidecarTcpAuthorizationTest.CLOSED : line;
    } catch (IOException e) {
      return SidecarTcpAuthorizationTest.CLOSED;
    }
  }

  @Test
  void customPolicyWithAGrpcProviderChecksTheTcpServersConnectionsAndAnUndefinedProviderClosesThem() throws Exception {
    int http = freePort();
    int tcp = freePort();
    String closed = SidecarTcpAuthorizationTest.CLOSED;
    try (GrpcAuthzServer authz = new GrpcAuthzServer()) {
      ExtensionProviders providers = ExtensionProviders.parse("mesh.yaml", """
          extensionProviders:
          - name: authz-grpc
            envoyExtAuthzGrpc: { service: 127.0.0.1, port: %d, timeout: 2s }
          """.formatted(authz.port()));
      try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
              CaOptions.selfSigned(null), 0).withExtensionProviders(providers));
          SidecarTcpAuthorizationTest.TcpEcho echo = new SidecarTcpAuthorizationTest.TcpEcho();
          Sidecar echoSidecar = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", echo.port());
          Sidecar gw = gateway(cp)) {
        cp.store.apply(PolicyParser.parse("routes.yaml", routes(http, tcp)).policies(), false);
        await().atMost(Duration.ofSeconds(30)).until(() -> fromPort(tcp, authz, false).equals("hello world"));
        String custom = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: ext, namespace: istio-system }
            spec:
              selector: { matchLabels: { istio: ingressgateway } }
              action: CUSTOM
              provider: { name: %s }
              rules: [ { to: [ { operation: { ports: [ "%d" ] } } ] } ]
            """;
        cp.store.apply(PolicyParser.parse("custom.yaml", custom.formatted("authz-grpc", tcp)).policies(), false);
        await().atMost(Duration.ofSeconds(30)).until(() -> fromPort(tcp, authz, false).equals(closed));

        int accepted = echo.accepted();
        int checked = authz.checks.size();
        assertThat(fromPort(tcp, authz, true)).as("the authorizer allows this source port").isEqualTo("hello world");
        assertThat(fromPort(tcp, authz, false)).as("the authorizer denies any other").isEqualTo(closed);
        assertThat(echo.accepted() - accepted).as("the denied connection never reached the backend").isEqualTo(1);
        assertThat(authz.checks.subList(checked, authz.checks.size())).hasSize(2).allSatisfy(c -> {
          assertThat(c.getAttributes().getRequest().hasHttp()).as("a network check").isFalse();
          assertThat(c.getAttributes().getDestination().getAddress().getSocketAddress().getPortValue()).isEqualTo(tcp);
        });
        assertThat(cp.xds.status()).filteredOn(s -> s.nodeId().equals(gw.nodeId())).singleElement()
            .satisfies(s -> assertThat(s.warnings()).noneMatch(w -> w.contains("not enforced")));

        // A provider the control plane does not define: istiod's deny-all, every connection closed, none checked.
        cp.store.apply(PolicyParser.parse("custom.yaml", custom.formatted("nowhere", tcp)).policies(), false);
        await().atMost(Duration.ofSeconds(30)).until(() -> fromPort(tcp, authz, true).equals(closed));
        accepted = echo.accepted();
        checked = authz.checks.size();
        assertThat(fromPort(tcp, authz, true)).isEqualTo(closed);
        assertThat(echo.accepted()).isEqualTo(accepted);
        assertThat(authz.checks).hasSize(checked);
      }
    }
  }
  @Test
  void aGatewayWithAJoinTokenButNoWorkloadIdentityGetsItsTokenNamespacesPolicies() throws Exception {
    int http = freePort();
    int tcp = freePort();
    String deny = """
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: %s, namespace: %s }
        spec:
          action: DENY
          rules: [ { to: [ { operation: { paths: [ "%s" ] } } ] } ]
        """;
    java.nio.file.Path root = dir.resolve("root.pem");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0))) {
      java.nio.file.Files.writeString(root, io.keelson.control.ca.Pem.encode(cp.security.ca().roots().getFirst()));
      String token = cp.security.tokens().create("ingress", "gateway", null).token();
      // Its join token is for namespace ingress; it asks for no workload certificate, so it announces no SPIFFE ID.
      try (Sidecar gw = Sidecar.start(SidecarBootstrap.gateway("127.0.0.1", cp.security.securePort().port(), "ingress",
          LABELS, "127.0.0.1", "127.0.0.1", 0), io.keelson.dataplane.server.ProxyOptions.defaults().withConcurrency(1),
          Duration.ofMillis(500), new io.keelson.dataplane.security.ControlPlaneCredentials(root, token), null)) {
        cp.store.apply(PolicyParser.parse("routes.yaml", routes(http, tcp) + deny.formatted("edge", "ingress",
            "/blocked") + deny.formatted("default-wide", "default", "/public")).policies(), false);
        await().atMost(Duration.ofSeconds(30)).until(() -> status(http, "/blocked", "") == 403);
        assertThat(get(http, "/blocked", "").body()).isEqualTo("RBAC: access denied");
        assertThat(status(http, "/public", "")).as("namespace default's policy is not this gateway's")
            .isNotEqualTo(403);
        assertThat(given(cp, gw, "ns[ingress]-policy[edge]")).isTrue();
        assertThat(given(cp, gw, "ns[default]")).isFalse();
      }
    }
  }
}
