package io.keelson.dataplane.mirror;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * request_mirror_policies over real sockets: the shadow cluster gets a copy (authority suffixed
 * {@code -shadow}, same body), the client only ever sees the primary's answer, and a dead or slow
 * shadow changes nothing for the client; failures and oversized bodies are counted.
 */
class RequestMirrorTest {

  private static String mirroredRoute(String fraction) {
    return """
                        - name: mesh
                          domains: ["*"]
                          routes:
                          - match: { prefix: "/" }
                            route:
                              cluster: primary
                              request_mirror_policies:
                              - cluster: shadow
            """ + fraction;
  }

  /** Every request to {@code primaryPort}, mirrored to {@code shadowPort}; inline. */
  private static ProxyHarness mirroringProxy(int primaryPort, int shadowPort) throws Exception {
    return new ProxyHarness(bootstrap(mirroredRoute(""),
        cluster("primary", "ROUND_ROBIN", primaryPort) + cluster("shadow", "ROUND_ROBIN", shadowPort)), PipelineMode.INLINE);
  }

  @Test
  void theShadowGetsACopyWithTheShadowAuthorityAndTheClientOnlyThePrimarysAnswer() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = mirroringProxy(primary.port(), shadow.port())) {
      String body = "x".repeat(5000);
      HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/orders?id=7"))
          .header("x-trace-me", "yes")
          .POST(HttpRequest.BodyPublishers.ofString(body)));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");

      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1);
      assertThat(shadow.requestLines.getFirst()).startsWith("POST /orders?id=7");
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("127.0.0.1-shadow:" + proxy.port());
      assertThat(shadow.lastHeaders.get("x-trace-me")).isEqualTo("yes");
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.bodyBytesRead.get() == body.length());
      assertThat(primary.requests.get()).isEqualTo(1);
      assertThat(primary.lastHeaders.get("host")).isEqualTo("127.0.0.1:" + proxy.port());
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.admin("/stats").contains("cluster.shadow.mirror_rq_total: 1"));
      assertThat(proxy.admin("/stats")).contains("cluster.shadow.mirror_rq_failed: 0");
    }
  }

  /** An off-mesh shadow never gets metadata exchange fields (the workload's identity), whoever set them. */
  @Test
  void anOffMeshShadowGetsNoPeerMetadata() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = mirroringProxy(primary.port(), shadow.port());
        RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /orders HTTP/1.1\r\nHost: svc\r\nx-envoy-peer-metadata-id: sidecar~me\r\n"
          + "x-envoy-peer-metadata: Cg1=\r\nx-keep: 1\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1);
      assertThat(shadow.lastHeaders).containsEntry("x-keep", "1")
          .doesNotContainKeys("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
    }
  }

  /** A field the request's Connection header names is hop-by-hop: neither the primary nor the shadow gets it, as Envoy. */
  @Test
  void aFieldNamedByTheConnectionHeaderIsNeitherForwardedNorMirrored() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = mirroringProxy(primary.port(), shadow.port());
        RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /orders HTTP/1.1\r\nHost: svc\r\nConnection: X-Custom\r\n"
          + "x-custom: for-this-hop\r\nx-keep: 1\r\nTrailer: x-sum\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1);
      assertThat(primary.lastHeaders).containsEntry("x-keep", "1").doesNotContainKeys("x-custom", "connection", "trailer");
      assertThat(shadow.lastHeaders).containsEntry("x-keep", "1").doesNotContainKeys("x-custom", "trailer");
    }
  }

  @Test
  void aDeadShadowClusterDoesNotAffectThePrimaryAndIsCountedAsFailed() throws Exception {
    int dead = TestUpstream.closedPort();
    try (TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = mirroringProxy(primary.port(), dead)) {
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = proxy.get("/" + i);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
      }
      assertThat(primary.requests.get()).isEqualTo(20);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.admin("/stats").contains("cluster.shadow.mirror_rq_failed: 20"));
    }
  }

  @Test
  void aShadowThatNeverAnswersDoesNotDelayTheClient() throws Exception {
    // A socket that accepts connections (the kernel's backlog) and never reads or answers.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = mirroringProxy(primary.port(), silent.getLocalPort())) {
      for (int i = 0; i < 5; i++) {
        long t0 = System.nanoTime();
        HttpResponse<String> r = proxy.get("/" + i);
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
        assertThat(tookMs).as("the client waited for the shadow").isLessThan(5000);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.admin("/stats").contains("cluster.shadow.mirror_rq_total: 5"));
    }
  }

  @Test
  void aBodyOverTheBoundIsNotMirroredButIsStillForwarded() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = mirroringProxy(primary.port(), shadow.port())) {
      byte[] big = new byte[RequestMirror.MAX_BODY_BYTES + 1];
      // Streamed without a content-length: the bound is found while copying, not from the head.
      HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/upload"))
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))));
      assertThat(r.statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> primary.bodyBytesRead.get() == big.length);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.admin("/stats").contains("cluster.shadow.mirror_rq_body_too_large: 1"));
      assertThat(shadow.requests.get()).isZero();
    }
  }

  @Test
  void aZeroRuntimeFractionMirrorsNothing() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute("""
                                runtime_fraction: { default_value: { numerator: 0, denominator: HUNDRED } }
            """), cluster("primary", "ROUND_ROBIN", primary.port()) + cluster("shadow", "ROUND_ROBIN", shadow.port())),
            PipelineMode.INLINE)) {
      for (int i = 0; i < 10; i++) {
        assertThat(proxy.get("/").statusCode()).isEqualTo(200);
      }
      assertThat(shadow.requests.get()).isZero();
    }
  }

  @Test
  void shadowAuthorityKeepsThePort() {
    assertThat(ShadowHost.of("reviews")).isEqualTo("reviews-shadow");
    assertThat(ShadowHost.of("reviews:9080")).isEqualTo("reviews-shadow:9080");
    assertThat(ShadowHost.of("[::1]:80")).isEqualTo("[::1]-shadow:80");
    assertThat(ShadowHost.of("[::1]")).isEqualTo("[::1]-shadow");
  }
}
