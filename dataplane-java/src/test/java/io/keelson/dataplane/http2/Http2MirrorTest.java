package io.keelson.dataplane.http2;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.keelson.dataplane.mirror.RequestMirror;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * request_mirror_policies on HTTP/2 downstream streams (h2c prior knowledge), over real sockets: the
 * shadow cluster gets a copy of each request (authority suffixed {@code -shadow}, same method, path,
 * headers and body) while the client only ever sees the primary's answer; a dead or silent shadow
 * changes nothing for the client; sampling, the body bound and the counters are those of the
 * HTTP/1.1 path ({@code mirror.RequestMirrorTest}).
 */
class Http2MirrorTest {

  /** One route to {@code primary}, mirrored to each of {@code policies} (YAML list items). */
  private static String mirroredRoute(String policies) {
    return """
                    - name: mesh
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route:
                          cluster: primary
                          request_mirror_policies:
        """ + policies;
  }

  private static final String TO_SHADOW = """
                          - cluster: shadow
        """;

  private static DefaultFullHttpRequest request(HttpMethod method, String path, byte[] body) {
    return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path, Unpooled.wrappedBuffer(body));
  }

  /** A counter's value in {@code /stats}, -1 when it is not listed. */
  private static long stat(ProxyHarness proxy, String name) throws Exception {
    for (String line : proxy.admin("/stats").split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2).trim());
      }
    }
    return -1;
  }

  private static FullHttpResponse send(H2Client client, DefaultFullHttpRequest request) throws Exception {
    return client.send(request).get(20, TimeUnit.SECONDS);
  }

  @Test
  void theShadowGetsACopyOfEachStreamWithTheShadowAuthorityAndTheClientOnlyThePrimarysAnswer() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", primary.port()) + cluster("shadow", "ROUND_ROBIN", shadow.port())),
            PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      byte[] body = new byte[5000];
      for (int i = 0; i < body.length; i++) {
        body[i] = (byte) ('a' + i % 26);
      }
      DefaultFullHttpRequest post = request(HttpMethod.POST, "/orders?id=7", body);
      post.headers().set("host", "orders.example:8080");
      post.headers().set("x-trace-me", "yes");
      post.headers().set("content-type", "text/plain");
      FullHttpResponse r = send(client, post);
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.headers().get("x-upstream")).isEqualTo("primary");
      assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("host: orders.example:8080")
          .contains("body-bytes: 5000");
      r.release();

      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1 && shadow.lastBody.length == body.length);
      assertThat(shadow.requestLines.getFirst()).isEqualTo("POST /orders?id=7 HTTP/1.1");
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("orders.example-shadow:8080");
      assertThat(shadow.lastHeaders.get("x-trace-me")).isEqualTo("yes");
      assertThat(shadow.lastHeaders.get("content-type")).isEqualTo("text/plain");
      assertThat(shadow.lastHeaders.get("x-forwarded-proto")).isEqualTo("http"); // as it went upstream
      assertThat(shadow.lastHeaders.get("x-request-id")).isEqualTo(primary.lastHeaders.get("x-request-id"));
      assertThat(shadow.lastHeaders).doesNotContainKeys("x-http2-scheme", "x-http2-stream-id");
      assertThat(shadow.lastBody).isEqualTo(body);
      assertThat(primary.requests.get()).isEqualTo(1);
      assertThat(primary.lastHeaders.get("host")).isEqualTo("orders.example:8080");

      // A request without a body (HEADERS with END_STREAM) is mirrored too.
      DefaultFullHttpRequest get = request(HttpMethod.GET, "/items/3", new byte[0]);
      get.headers().set("host", "orders.example");
      FullHttpResponse g = send(client, get);
      assertThat(g.headers().get("x-upstream")).isEqualTo("primary");
      g.release();
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 2);
      assertThat(shadow.requestLines.get(1)).isEqualTo("GET /items/3 HTTP/1.1");
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("orders.example-shadow");
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_total") == 2);
      assertThat(stat(proxy, "cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void aDeadShadowClusterDoesNotAffectThePrimaryAndIsCountedAsFailed() throws Exception {
    int dead = TestUpstream.closedPort();
    try (TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", primary.port()) + cluster("shadow", "ROUND_ROBIN", dead)),
            PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      for (int i = 0; i < 20; i++) {
        FullHttpResponse r = send(client, request(HttpMethod.POST, "/" + i, ("body " + i).getBytes(StandardCharsets.UTF_8)));
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.headers().get("x-upstream")).isEqualTo("primary");
        r.release();
      }
      assertThat(primary.requests.get()).isEqualTo(20);
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_failed") == 20);
    }
  }

  @Test
  void aShadowThatNeverAnswersDoesNotDelayTheClient() throws Exception {
    // A socket that accepts connections (the kernel's backlog) and never reads or answers.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TestUpstream primary = new TestUpstream("primary");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", primary.port()) + cluster("shadow", "ROUND_ROBIN", silent.getLocalPort())),
            PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      for (int i = 0; i < 5; i++) {
        long t0 = System.nanoTime();
        FullHttpResponse r = send(client, request(HttpMethod.POST, "/" + i, new byte[1000]));
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.headers().get("x-upstream")).isEqualTo("primary");
        r.release();
        assertThat(tookMs).as("the client waited for the shadow").isLessThan(5000);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_total") == 5);
    }
  }

  @Test
  void aBodyOverTheBoundIsNotMirroredButIsStillForwarded() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", primary.port()) + cluster("shadow", "ROUND_ROBIN", shadow.port())),
            PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      byte[] big = new byte[RequestMirror.MAX_BODY_BYTES + 1];
      // No content-length: the bound is found while copying the DATA frames, not from the head.
      FullHttpResponse r = send(client, request(HttpMethod.POST, "/upload", big));
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("body-bytes: " + big.length);
      r.release();
      // A declared content-length over the bound is refused from the head.
      DefaultFullHttpRequest declared = request(HttpMethod.POST, "/declared", big);
      declared.headers().setInt("content-length", big.length);
      FullHttpResponse d = send(client, declared);
      assertThat(d.status().code()).isEqualTo(200);
      d.release();
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_body_too_large") == 2);
      assertThat(primary.requests.get()).isEqualTo(2);
      assertThat(shadow.requests.get()).isZero();
    }
  }

  @Test
  void aZeroRuntimeFractionMirrorsNothing() throws Exception {
    try (TestUpstream primary = new TestUpstream("primary");
        TestUpstream shadow = new TestUpstream("shadow");
        TestUpstream witness = new TestUpstream("witness");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute("""
                          - cluster: shadow
                            runtime_fraction: { default_value: { numerator: 0, denominator: HUNDRED } }
                          - cluster: witness
        """), cluster("primary", "ROUND_ROBIN", primary.port()) + cluster("shadow", "ROUND_ROBIN", shadow.port())
            + cluster("witness", "ROUND_ROBIN", witness.port())),
            PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      for (int i = 0; i < 10; i++) {
        FullHttpResponse r = send(client, request(HttpMethod.GET, "/" + i, new byte[0]));
        assertThat(r.status().code()).isEqualTo(200);
        r.release();
      }
      // The witness (100%) got its ten copies; the copies for the 0% shadow would have left with them.
      await().atMost(Duration.ofSeconds(10)).until(() -> witness.requests.get() == 10);
      assertThat(shadow.requests.get()).isZero();
      assertThat(stat(proxy, "cluster.shadow.mirror_rq_total")).isLessThanOrEqualTo(0);
      assertThat(stat(proxy, "cluster.witness.mirror_rq_total")).isEqualTo(10);
    }
  }

  private static final String H2 = "    type: STATIC\n    http2_protocol_options: {}\n";

  @Test
  void aGrpcCallIsMirroredOverHttp2ToAShadowClusterThatSpeaksHttp2() throws Exception {
    try (GrpcEcho server = new GrpcEcho();
        GrpcEcho shadow = new GrpcEcho();
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", server.port()).replace("    type: STATIC\n", H2)
            + cluster("shadow", "ROUND_ROBIN", shadow.port()).replace("    type: STATIC\n", H2)),
            PipelineMode.INLINE)) {
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
          InsecureChannelCredentials.create()).build();
      try {
        for (int i = 0; i < 3; i++) {
          CallOptions deadline = CallOptions.DEFAULT.withDeadlineAfter(10_000, TimeUnit.MILLISECONDS);
          assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "hello " + i)).isEqualTo("hello " + i);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // Copies are sent without waiting for each other: they may arrive in any order (and a call is counted before
      // its payload is read), so wait for the three payloads.
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.unaries.size() == 3);
      assertThat(shadow.lastAuthority).isEqualTo("127.0.0.1-shadow:" + proxy.port());
      assertThat(shadow.unaries).containsExactlyInAnyOrder("hello 0", "hello 1", "hello 2");
      assertThat(server.calls.get()).isEqualTo(3);
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_total") == 3);
      assertThat(stat(proxy, "cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void anHttp1ClientsRequestIsMirroredOverHttp2ToAShadowClusterThatSpeaksHttp2() throws Exception {
    // The HTTP/1.1 path shares RequestMirror: its copies to an HTTP/2 shadow cluster go out as HTTP/2 too.
    try (TestUpstream primary = new TestUpstream("primary");
        GrpcEcho shadow = new GrpcEcho();
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", primary.port())
            + cluster("shadow", "ROUND_ROBIN", shadow.port()).replace("    type: STATIC\n", H2)),
            PipelineMode.INLINE)) {
      byte[] framed = {0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
      var r = proxy.send(java.net.http.HttpRequest.newBuilder(proxy.uri("/test.Echo/Unary"))
          .header("content-type", "application/grpc")
          .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(framed)));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-upstream")).hasValue("primary");
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.calls.get() == 1);
      assertThat(shadow.lastUnary).isEqualTo("hello");
      assertThat(shadow.lastAuthority).isEqualTo("127.0.0.1-shadow:" + proxy.port());
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_total") == 1);
      assertThat(stat(proxy, "cluster.shadow.mirror_rq_failed")).isZero();
    }
  }

  @Test
  void anHttp2ShadowThatIsDownOrSilentDoesNotDelayTheGrpcCall() throws Exception {
    int dead = TestUpstream.closedPort();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        GrpcEcho server = new GrpcEcho();
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute("""
                          - cluster: dead
                          - cluster: silent
        """), cluster("primary", "ROUND_ROBIN", server.port()).replace("    type: STATIC\n", H2)
            + cluster("dead", "ROUND_ROBIN", dead).replace("    type: STATIC\n", H2)
            + cluster("silent", "ROUND_ROBIN", silent.getLocalPort()).replace("    type: STATIC\n", H2)),
            PipelineMode.INLINE)) {
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
          InsecureChannelCredentials.create()).build();
      try {
        for (int i = 0; i < 5; i++) {
          long t0 = System.nanoTime();
          CallOptions deadline = CallOptions.DEFAULT.withDeadlineAfter(10_000, TimeUnit.MILLISECONDS);
          assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "x" + i)).isEqualTo("x" + i);
          assertThat((System.nanoTime() - t0) / 1_000_000).as("the call waited for a shadow").isLessThan(5000);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.dead.mirror_rq_failed") == 5
          && stat(proxy, "cluster.silent.mirror_rq_total") == 5);
    }
  }

  @Test
  void aGrpcCallToAnHttp2ClusterIsMirroredToAnHttp1Shadow() throws Exception {
    try (GrpcEcho server = new GrpcEcho();
        TestUpstream shadow = new TestUpstream("shadow");
        ProxyHarness proxy = new ProxyHarness(bootstrap(mirroredRoute(TO_SHADOW),
            cluster("primary", "ROUND_ROBIN", server.port()).replace("    type: STATIC\n", H2)
            + cluster("shadow", "ROUND_ROBIN", shadow.port())),
            PipelineMode.INLINE)) {
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
          InsecureChannelCredentials.create()).build();
      try {
        CallOptions deadline = CallOptions.DEFAULT.withDeadlineAfter(10_000, TimeUnit.MILLISECONDS);
        assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "hello")).isEqualTo("hello");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // The shadow gets the call as it went upstream: the gRPC message framed (flag 0, length 5, "hello").
      ByteArrayOutputStream framed = new ByteArrayOutputStream();
      framed.writeBytes(new byte[] {0, 0, 0, 0, 5});
      framed.writeBytes("hello".getBytes(StandardCharsets.UTF_8));
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 1 && shadow.lastBody.length == 10);
      assertThat(shadow.requestLines.getFirst()).isEqualTo("POST /test.Echo/Unary HTTP/1.1");
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("127.0.0.1-shadow:" + proxy.port());
      assertThat(shadow.lastHeaders.get("content-type")).isEqualTo("application/grpc");
      assertThat(shadow.lastHeaders.get("te")).isEqualTo("trailers");
      assertThat(shadow.lastHeaders).doesNotContainKeys("x-http2-scheme");
      assertThat(shadow.lastBody).isEqualTo(framed.toByteArray());
      assertThat(server.calls.get()).isEqualTo(1);
      await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy, "cluster.shadow.mirror_rq_total") == 1);
    }
  }
}
