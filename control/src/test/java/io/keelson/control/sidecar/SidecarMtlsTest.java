package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaLoader;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.MeshCa;
import io.keelson.control.ca.Pem;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.security.MeshTls;
import io.keelson.dataplane.security.SpiffeId;
import io.keelson.dataplane.security.StaticCertificateSource;
import io.keelson.dataplane.security.WorkloadCertificate;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.testing.RawHttp;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Automatic mTLS between sidecars on the secure port: each sidecar's certificate by CSR, outbound
 * clusters to identified workloads originate mTLS checking the destination's SPIFFE ID (SDS secrets
 * {@code default}/{@code ROOTCA} resolved from the proxy's identity), the inbound listener follows
 * PeerAuthentication (PERMISSIVE by default, STRICT, DISABLE).
 */
class SidecarMtlsTest {
  static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;
  static final String PRODUCT = "spiffe://cluster.local/ns/default/sa/product";

  @TempDir
  Path dir;

  @Test
  void sidecarsTalkMtlsPermissiveTakesBothStrictRefusesPlaintextStrangersAndExpiredCertificates() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      int inbound = product.inboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));

      // The caller originates mTLS checking the destination's SPIFFE ID; the destination is PERMISSIVE.
      assertThat(web.xds().lastSnapshot().clusters().get("product-service").tls()).isNotNull();
      assertThat(web.xds().lastSnapshot().clusters().get("product-service").tls().config().serverSans())
          .extracting(Object::toString).anyMatch(s -> s.contains(PRODUCT));
      ListenerConfig in = inbound(product);
      assertThat(in.tls()).isNotNull();
      assertThat(in.plaintextToo()).isTrue();
      // The app behind the destination sidecar sees the caller's verified identity (Envoy's XFCC).
      try (RawHttp http = new RawHttp(outbound)) {
        RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n"
            + "x-forwarded-client-cert: URI=spiffe://cluster.local/ns/default/sa/forged\r\n\r\n").read();
        assertThat(r.header("x-caller-cert")).startsWith("By=" + PRODUCT + ";Hash=")
            .endsWith(";URI=spiffe://cluster.local/ns/default/sa/web").doesNotContain("forged");
      }
      long handshakes = product.server().stats().tls("listener.inbound").handshake.sum();
      assertThat(handshakes).as("inbound mTLS handshakes").isPositive();

      MeshCa ca = cp.security.ca();
      List<X509Certificate> bundle = ca.roots();
      CertificateSource tester = new StaticCertificateSource(svid(ca, ca.identity("default", "tester")), bundle);
      // PERMISSIVE: plaintext and mTLS on the same port.
      assertThat(served(inbound, "product-service")).isEqualTo("product-v1");
      assertThat(overMtls(inbound, tester)).startsWith("HTTP/1.1 200").contains("URI=spiffe://cluster.local/ns/default/sa/tester");

      cp.store.apply(PolicyParser.parse("strict.yaml", """
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> !inbound(product).plaintextToo());

      // STRICT: plaintext refused; sidecar-to-sidecar mTLS still works.
      assertThat(plaintextRefused(inbound)).isTrue();
      assertThat(served(outbound, "product-service")).isEqualTo("product-v1");
      assertThat(overMtls(inbound, tester)).startsWith("HTTP/1.1 200");
      // A client certificate from another CA, an expired one, and none at all: refused.
      MeshCa other = CaLoader.load(CaOptions.selfSigned(null));
      assertThat(overMtls(inbound, new StaticCertificateSource(svid(other, other.identity("default", "web")), bundle)))
          .startsWith("refused");
      MeshCa past = io.keelson.control.ca.CaTestAccess.withClock(ca, Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC));
      assertThat(overMtls(inbound, new StaticCertificateSource(svid(past, ca.identity("default", "web")), bundle)))
          .startsWith("refused");
      assertThat(overTlsWithoutCertificate(inbound, tester)).startsWith("refused");

      // DISABLE: plaintext only, and callers stop originating mTLS to it (Istio's auto mTLS).
      cp.store.apply(PolicyParser.parse("disable.yaml", """
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: DISABLE } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> inbound(product).tls() == null
          && web.xds().lastSnapshot().clusters().get("product-service").tls() == null);
      assertThat(served(inbound, "product-service")).isEqualTo("product-v1");
      assertThat(served(outbound, "product-service")).isEqualTo("product-v1");
    }
  }

  @Test
  void aCallerRefusesADestinationPresentingAnotherSpiffeIdThanItsRegistrationClaims() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      MeshCa ca = cp.security.ca();
      // A mesh workload of service account "other", answering 200 to anyone over mTLS.
      var other = new StaticCertificateSource(svid(ca, ca.identity("default", "other")), ca.roots());
      javax.net.ssl.SSLServerSocket server = (javax.net.ssl.SSLServerSocket) ((JdkSslContext) MeshTls.server(other, false,
          SslProvider.JDK)).context().getServerSocketFactory().createServerSocket(0, 50,
          java.net.InetAddress.getLoopbackAddress());
      Thread.ofVirtual().start(() -> serveOk(server));
      try (server) {
        cp.store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
        int outbound = web.outboundAddress().getPort();
        // Registered honestly as sa/other: the caller expects sa/other and is served.
        try (var honest = register(cp, "honest", server.getLocalPort(), "spiffe://cluster.local/ns/default/sa/other")) {
          await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("impostor"));
        }
        // Registered claiming sa/product: the caller expects sa/product, the certificate says sa/other: refused.
        try (var liar = register(cp, "liar", server.getLocalPort(), PRODUCT)) {
          await().atMost(Duration.ofSeconds(15)).until(() -> {
            var tls = web.xds().lastSnapshot().clusters().get("product-service").tls();
            return tls != null && tls.config().serverSans().toString().contains(PRODUCT);
          });
          // The cluster update and its endpoints arrive in separate responses: a request between the two finds no
          // endpoint (also a 503, but without a handshake), so ask again until a handshake was refused.
          var tlsStats = web.server().stats().tls("cluster.product-service");
          List<String> answers = new CopyOnWriteArrayList<>();
          await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            answers.add(served(outbound, "product-service"));
            assertThat(tlsStats.failVerifySan.sum() + tlsStats.failVerifyError.sum() + tlsStats.connectionError.sum())
                .as("refused upstream handshakes").isPositive();
          });
          assertThat(answers).as("every answer once the caller expects sa/product").containsOnly("status 503");
        }
      }
    }
  }

  /** A proxy-less registration of product-service at {@code port} claiming {@code spiffeId} (plaintext xDS port). */
  private static io.keelson.dataplane.xds.XdsClient register(ControlPlane cp, String id, int port, String spiffeId) {
    var node = SidecarBootstrap.withSpiffeId(new SidecarBootstrap("127.0.0.1", cp.xds.port(), "product-service",
        Map.of(), 1, 0, 0, "127.0.0.1", 0).node(port, 1).toBuilder().setId(id).build(), spiffeId);
    return io.keelson.dataplane.xds.XdsClient.start(
        io.keelson.dataplane.xds.XdsClientConfig.of("127.0.0.1", cp.xds.port(), false, node), s -> { });
  }

  private static void serveOk(java.net.ServerSocket server) {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        s.setSoTimeout(5_000);
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
          int b = in.read();
          if (b < 0) {
            break;
          }
          head.write(b);
        }
        s.getOutputStream().write("HTTP/1.1 200 OK\r\nx-served-by: impostor\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        // a refused handshake, or the server closing
      }
    }
  }

  @Test
  void authorizationPoliciesAreEnforcedOnTheCallersVerifiedIdentityDenyBeforeAllow() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      int inbound = product.inboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));
      cp.store.apply(PolicyParser.parse("authz.yaml", """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: web-reads-items, namespace: default }
          spec:
            action: ALLOW
            rules:
            - from: [ { source: { principals: [ "cluster.local/ns/default/sa/web" ] } } ]
              to: [ { operation: { methods: [ GET ], paths: [ "/items*" ] } } ]
          ---
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: no-secrets, namespace: default }
          spec:
            action: DENY
            rules:
            - to: [ { operation: { paths: [ "/items/secret" ] } } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "POST", "/items", "") == 403);

      assertThat(status(outbound, "GET", "/items", "")).as("allowed principal, method and path").isEqualTo(200);
      assertThat(status(outbound, "GET", "/items/42", "")).isEqualTo(200);
      assertThat(status(outbound, "POST", "/items", "")).as("method not allowed").isEqualTo(403);
      assertThat(status(outbound, "GET", "/orders", "")).as("path not allowed").isEqualTo(403);
      assertThat(status(outbound, "GET", "/items/secret", "")).as("DENY before ALLOW").isEqualTo(403);
      try (RawHttp http = new RawHttp(outbound)) {
        RawHttp.Response r = http.send("GET /items/secret HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
        assertThat(r.body()).isEqualTo("RBAC: access denied");
        RawHttp.Response g = http.send("POST /shop.Items/Get HTTP/1.1\r\nHost: product-service\r\n"
            + "content-type: application/grpc\r\ncontent-length: 0\r\n\r\n").read();
        assertThat(g.header("grpc-status")).as("gRPC PERMISSION_DENIED").isEqualTo("7");
      }
      // Another mesh identity, straight to the destination over mTLS: not the allowed principal.
      MeshCa ca = cp.security.ca();
      CertificateSource tester = new StaticCertificateSource(svid(ca, ca.identity("default", "tester")), ca.roots());
      assertThat(overMtls(inbound, tester)).startsWith("HTTP/1.1 403");
      assertThat(overMtls(inbound, web.identity().source())).startsWith("HTTP/1.1 200");
      // Plaintext (PERMISSIVE) has no principal: denied.
      assertThat(status(inbound, "GET", "/items", "")).isEqualTo(403);
    }
  }

  static int status(int port, String method, String path, String extraHeaders) {
    try (RawHttp http = new RawHttp(port)) {
      return http.send(method + " " + path + " HTTP/1.1\r\nHost: product-service\r\ncontent-length: 0\r\n"
          + extraHeaders + "\r\n").read().status();
    } catch (IOException e) {
      return -1;
    }
  }

  @Test
  void certificatesRotateUnderLoadWithoutAFailedRequest() throws Exception {
    // 20 s certificates rotated at half-life: each sidecar rotates at least twice during a 30 s load loop.
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null).withWorkloadTtl(Duration.ofSeconds(20)), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
      cp.store.apply(PolicyParser.parse("strict.yaml", """
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: istio-system }
          spec: { mtls: { mode: STRICT } }
          """).policies(), false);
      int outbound = web.outboundAddress().getPort();
      int inbound = product.inboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1")
          && !inbound(product).plaintextToo());
      var firstProduct = product.identity().source().current().leaf().getSerialNumber();
      var firstWeb = web.identity().source().current().leaf().getSerialNumber();
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      int sidecarRequests = 0;
      int freshHandshakes = 0;
      List<String> failures = new java.util.ArrayList<>();
      while (System.nanoTime() < end) {
        // Through both sidecars (the caller's pool keeps mTLS connections and opens new ones as needed).
        try (RawHttp http = new RawHttp(outbound)) {
          for (int i = 0; i < 20; i++) {
            RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
            sidecarRequests++;
            if (r.status() != 200) {
              failures.add("through the sidecars: " + r.status() + " " + r.body());
            }
          }
        }
        // A fresh handshake presenting the caller's current certificate and checking the destination's.
        String direct = overMtls(inbound, web.identity().source());
        freshHandshakes++;
        if (!direct.startsWith("HTTP/1.1 200")) {
          failures.add("fresh mTLS handshake: " + direct);
        }
      }
      assertThat(failures).as("%d requests through the sidecars, %d fresh handshakes", sidecarRequests, freshHandshakes)
          .isEmpty();
      assertThat(product.identity().rotator().rotations()).as("the first certificate and at least two rotations").isGreaterThanOrEqualTo(3);
      assertThat(web.identity().rotator().rotations()).as("the first certificate and at least two rotations").isGreaterThanOrEqualTo(3);
      assertThat(product.identity().source().current().leaf().getSerialNumber()).isNotEqualTo(firstProduct);
      assertThat(web.identity().source().current().leaf().getSerialNumber()).isNotEqualTo(firstWeb);
      assertThat(sidecarRequests).isGreaterThan(100);
    }
  }

  static Sidecar secureSidecar(ControlPlane cp, String service, String serviceAccount, int appPort) throws Exception {
    return secureSidecar(cp, service, serviceAccount, appPort, Map.of());
  }

  /** A sidecar of {@code service} with {@code labels}, on the secure port with a join token for default/{@code serviceAccount}. */
  static Sidecar secureSidecar(ControlPlane cp, String service, String serviceAccount, int appPort,
      Map<String, String> labels) throws Exception {
    return secureProxy(cp, "default", serviceAccount, new SidecarBootstrap("127.0.0.1", cp.security.securePort().port(),
        service, labels, appPort, 0, 0, "127.0.0.1", 0));
  }

  /** {@code bootstrap}'s proxy on the secure port with a join token for {@code namespace}/{@code serviceAccount}. */
  static Sidecar secureProxy(ControlPlane cp, String namespace, String serviceAccount, SidecarBootstrap bootstrap)
      throws Exception {
    Path root = Files.createTempFile("root", ".pem");
    Files.writeString(root, Pem.encode(cp.security.ca().roots().getFirst()));
    root.toFile().deleteOnExit();
    String token = cp.security.tokens().create(namespace, serviceAccount, null).token();
    return Sidecar.start(bootstrap, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
        new ControlPlaneCredentials(root, token));
  }

  static ListenerConfig inbound(Sidecar s) {
    return s.server().snapshot().listener("inbound").config();
  }

  static WorkloadCertificate svid(MeshCa ca, SpiffeId id) throws Exception {
    KeyPair kp = CertificateRequests.newKeyPair();
    List<X509Certificate> chain = ca.sign(CertificateRequests.csr(kp), id, null);
    return new WorkloadCertificate(kp.getPrivate(), chain.subList(0, chain.size() - 1));
  }

  /** x-served-by of one plaintext request, or "status N". */
  static String served(int port, String host) throws IOException {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
      return r.status() == 200 ? r.header("x-served-by") : "status " + r.status();
    } catch (IOException e) {
      return "failed: " + e;
    }
  }

  static boolean plaintextRefused(int port) {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
      return r.status() != 200;
    } catch (IOException e) {
      return true;
    }
  }

  /** One request over mTLS presenting {@code client}'s certificate: the status line, or "refused: ...". */
  static String overMtls(int port, CertificateSource client) {
    try {
      return exchange(((JdkSslContext) MeshTls.client(client, null, SslProvider.JDK)).context()
          .getSocketFactory().createSocket("127.0.0.1", port));
    } catch (Exception e) {
      return "refused: " + e;
    }
  }

  /** TLS that verifies the server but sends no client certificate. */
  static String overTlsWithoutCertificate(int port, CertificateSource trust) {
    try {
      var ctx = io.netty.handler.ssl.SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
          .trustManager(new io.keelson.dataplane.security.MeshTrustManager(trust, null))
          .endpointIdentificationAlgorithm(null).build();
      return exchange(((JdkSslContext) ctx).context().getSocketFactory().createSocket("127.0.0.1", port));
    } catch (Exception e) {
      return "refused: " + e;
    }
  }

  private static String exchange(Socket socket) throws IOException {
    try (SSLSocket s = (SSLSocket) socket) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      s.getOutputStream().write("GET /items HTTP/1.1\r\nHost: product-service\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      for (int n; (n = in.read(buf)) > 0; ) {
        out.write(buf, 0, n);
      }
      String text = out.toString(StandardCharsets.US_ASCII);
      return text.isEmpty() ? "refused: closed without a response" : text;
    }
  }
}
