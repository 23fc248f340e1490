package io.keelson.dataplane.http2;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.TlsServerCredentials;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mirrored copies as ordinary upstream requests of the shadow cluster, over real sockets and real TLS
 * peers (a test CA): a shadow that only speaks TLS gets the copy over TLS with the cluster's SAN check
 * and client certificate (from HTTP/1.1 and HTTP/2 clients, to HTTP/1.1 and HTTP/2-over-TLS shadows); a
 * SAN mismatch is counted while the client is served; copies reuse keep-alive connections; the shadow's
 * circuit breakers drop copies over its limits, counted, without touching the main requests; trailers
 * are copied.
 */
class ShadowSenderTest {
  static TestCa ca;
  @TempDir static Path dir;
  static Path caFile;
  static Path clientCert;
  static Path clientKey;

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("keelson-mirror-test-ca");
    caFile = ca.write(dir, "ca.crt");
    clientCert = ca.issue("proxy", "proxy.test").write(dir, "client");
    clientKey = dir.resolve("client.key");
  }

  private static final String ROUTE = """
                  - name: mesh
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route:
                        cluster: primary
                        request_mirror_policies:
                        - cluster: shadow
      """;

  /** Upstream validation_context fields (indented 12): the shadow must be shadow.test. */
  private static final String SAN_SHADOW_TEST = """
                  match_typed_subject_alt_names:
                  - san_type: DNS
                    matcher: { exact: shadow.test }
      """;

  /** An UpstreamTlsContext (fields indented 8) with SNI shadow.test, trusting the test CA, checking the SAN shadow.test. */
  private static String shadowTls() {
    return TlsYaml.upstreamTls("        sni: shadow.test\n" + TlsYaml.trustingCa(caFile) + SAN_SHADOW_TEST);
  }

  /** As {@link #shadowTls()}, presenting the proxy's client certificate. */
  private static String shadowMtls() {
    return TlsYaml.upstreamTls("""
                sni: shadow.test
                common_tls_context:
                  tls_certificates:
                  - certificate_chain: { filename: "%s" }
                    private_key: { filename: "%s" }
                  validation_context:
                    trusted_ca: { filename: "%s" }
        """.formatted(clientCert, clientKey, caFile) + SAN_SHADOW_TEST);
  }

  /** A TLS server context with a certificate for {@code san} from the test CA. */
  private static SslContext serverTls(String san, boolean requireClientCert) throws Exception {
    TestCa.Leaf leaf = ca.issue("shadow", san);
    SslContextBuilder b = SslContextBuilder.forServer(leaf.key(), leaf.cert());
    if (requireClientCert) {
      b.trustManager(ca.cert).clientAuth(ClientAuth.REQUIRE);
    }
    return b.build();
  }

  private static ProxyHarness proxy(int primaryPort, String shadowCluster) throws Exception {
    return new ProxyHarness(bootstrap(ROUTE, cluster("primary", "ROUND_ROBIN", primaryPort) + shadowCluster),
        PipelineMode.INLINE);
  }

  private static String shadowCluster(int port, String extra) {
    return cluster("shadow", "ROUND_ROBIN", port) + extra;
  }

  private static HttpResponse<String> post(ProxyHarness proxy, String path, String body) throws Exception {
    return proxy.send(HttpRequest.newBuilder(proxy.uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  @Test
  void anHttp1ClientsCopyReachesATlsOnlyShadowOverTlsWithItsSanChecked() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow", serverTls("shadow.test", false));
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), shadowTls()))) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = post(proxy, "/orders/" + i, "order " + i);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
        int n = i + 1;
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.upstream_rq_active") == 0
            && shadow.requests.get() == n);
      }
      assertThat(shadow.requestLines).containsExactly("POST /orders/0 HTTP/1.1", "POST /orders/1 HTTP/1.1",
          "POST /orders/2 HTTP/1.1");
      assertThat(new String(shadow.lastBody, StandardCharsets.UTF_8)).isEqualTo("order 2");
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("127.0.0.1-shadow:" + proxy.port());
      assertThat(shadow.connections.get()).as("one TLS connection, kept alive").isEqualTo(1);
      assertThat(proxy.stat("cluster.shadow.ssl.handshake")).isEqualTo(1);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_total")).isEqualTo(3);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void anHttp2ClientsCopyReachesATlsOnlyShadowOverTlsWithItsTrailers() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow", serverTls("shadow.test", false));
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), shadowTls()));
        H2Client client = new H2Client(proxy.port())) {
      DefaultFullHttpRequest post = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload",
          Unpooled.copiedBuffer("payload", StandardCharsets.UTF_8));
      post.headers().set("host", "orders.example");
      post.trailingHeaders().set("x-checksum", "abc123");
      FullHttpResponse r = client.send(post).get(20, TimeUnit.SECONDS);
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.headers().get("x-upstream")).isEqualTo("primary");
      r.release();
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1 && shadow.lastBody.length == 7);
      assertThat(shadow.requestLines.getFirst()).isEqualTo("POST /upload HTTP/1.1");
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("orders.example-shadow");
      assertThat(shadow.lastTrailers).containsEntry("x-checksum", "abc123");
      assertThat(proxy.stat("cluster.shadow.ssl.handshake")).isEqualTo(1);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_total") == 1);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void aShadowRequiringAClientCertificateGetsTheCopyOverMutualTls() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow", serverTls("shadow.test", true));
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), shadowMtls()))) {
      HttpResponse<String> r = post(proxy, "/pay", "42");
      assertThat(r.statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1);
      assertThat(shadow.requestLines.getFirst()).isEqualTo("POST /pay HTTP/1.1");
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_total") == 1);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void aShadowFailingTheSanCheckGetsNothingIsCountedAndTheClientIsServed() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow", serverTls("someone-else.test", false));
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), shadowTls()))) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = proxy.get("/" + i);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
      }
      assertThat(primary.requests.get()).isEqualTo(3);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_failed") == 3);
      assertThat(proxy.stat("cluster.shadow.ssl.fail_verify_san")).isEqualTo(3);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_total")).isZero();
      assertThat(shadow.requests.get()).isZero();
    }
  }

  @Test
  void copiesReuseKeepAliveConnectionsToTheShadow() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), ""))) {
      int copies = 10;
      for (int i = 0; i < copies; i++) {
        assertThat(proxy.get("/" + i).statusCode()).isEqualTo(200);
        int n = i + 1;
        // The copy's answer is in (its connection back in the pool) before the next request.
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.upstream_rq_active") == 0
            && shadow.requests.get() == n);
      }
      assertThat(shadow.connections.get()).as("connections accepted by the shadow for %d copies", copies).isEqualTo(1);
      assertThat(shadow.lastHeaders).doesNotContainKey("connection");
      assertThat(proxy.stat("cluster.shadow.mirror_rq_total")).isEqualTo(copies);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void theShadowsMaxRequestsDropsCopiesOverTheLimitWhileMainRequestsSucceed() throws Exception {
    // A shadow that accepts connections (the kernel's backlog) and never answers holds its one request slot.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(silent.getLocalPort(), """
                circuit_breakers:
                  thresholds:
                  - max_requests: 1
            """))) {
      for (int i = 0; i < 5; i++) {
        long t0 = System.nanoTime();
        HttpResponse<String> r = proxy.get("/" + i);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
        assertThat((System.nanoTime() - t0) / 1_000_000).as("the client did not wait for the silent shadow").isLessThan(5000);
      }
      assertThat(primary.requests.get()).isEqualTo(5);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_overflow") == 4);
      assertThat(proxy.stat("cluster.shadow.upstream_rq_pending_overflow")).isEqualTo(4);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_total")).isEqualTo(1);
      assertThat(proxy.stat("cluster.primary.upstream_rq_pending_overflow")).isZero();
    }
  }

  @Test
  void theShadowsMaxConnectionsDropsCopiesThatWouldNeedAnotherConnection() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(silent.getLocalPort(), """
                circuit_breakers:
                  thresholds:
                  - max_connections: 1
            """))) {
      for (int i = 0; i < 3; i++) {
        assertThat(proxy.get("/" + i).statusCode()).isEqualTo(200);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_overflow") == 2);
      assertThat(proxy.stat("cluster.shadow.upstream_cx_overflow")).isEqualTo(2);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_total")).isEqualTo(1);
    }
  }

  @Test
  void theShadowsMaxPendingRequestsDropsCopiesWhileAConnectionIsStillBeingMade() throws Exception {
    // A TLS shadow that accepts TCP but never answers the ClientHello: the first copy stays pending (no
    // connection yet) until its handshake gives up, holding the one pending slot.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(silent.getLocalPort(), """
                circuit_breakers:
                  thresholds:
                  - max_pending_requests: 1
            """ + shadowTls()))) {
      for (int i = 0; i < 3; i++) {
        assertThat(proxy.get("/" + i).statusCode()).isEqualTo(200);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_overflow") == 2);
      assertThat(proxy.stat("cluster.shadow.upstream_rq_pending_overflow")).isEqualTo(2);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_total")).as("no copy had a connection").isZero();
      assertThat(primary.requests.get()).isEqualTo(3);
    }
  }

  @Test
  void chunkedRequestTrailersAreCopiedToTheShadow() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), ""));
        RawHttp raw = new RawHttp(proxy.port())) {
      raw.send("POST /chunked HTTP/1.1\r\nhost: orders.example\r\ntransfer-encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\n0\r\nx-checksum: abc123\r\n\r\n");
      assertThat(raw.read().status()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1 && shadow.lastBody.length == 5);
      assertThat(shadow.lastTrailers).containsEntry("x-checksum", "abc123");
      assertThat(new String(shadow.lastBody, StandardCharsets.UTF_8)).isEqualTo("hello");
    }
  }

  @Test
  void anHttp2ShadowClusterOverTlsGetsTheCopyAsHttp2NegotiatedByAlpn() throws Exception {
    TestCa.Leaf leaf = ca.issue("shadow", "shadow.test");
    Path cert = leaf.write(dir, "grpc-shadow");
    try (TestUpstream primary = new TestUpstream("primary");
        GrpcEcho shadow = new GrpcEcho(TlsServerCredentials.create(cert.toFile(), dir.resolve("grpc-shadow.key").toFile()));
        ProxyHarness proxy = proxy(primary.port(), shadowCluster(shadow.port(), "    http2_protocol_options: {}\n"
            + shadowTls()))) {
      byte[] framed = {0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
      for (int i = 0; i < 2; i++) {
        var r = proxy.send(HttpRequest.newBuilder(proxy.uri("/test.Echo/Unary"))
            .header("content-type", "application/grpc")
            .POST(HttpRequest.BodyPublishers.ofByteArray(framed)));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
        int n = i + 1;
        await().atMost(Duration.ofSeconds(10)).until(() -> shadow.calls.get() == n);
      }
      assertThat(shadow.lastUnary).isEqualTo("hello");
      assertThat(shadow.lastAuthority).isEqualTo("127.0.0.1-shadow:" + proxy.port());
      assertThat(proxy.stat("cluster.shadow.ssl.handshake")).as("both copies on one multiplexed connection").isEqualTo(1);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.stat("cluster.shadow.mirror_rq_total") == 2);
      assertThat(proxy.stat("cluster.shadow.mirror_rq_failed")).isZero();
    }
  }
}
