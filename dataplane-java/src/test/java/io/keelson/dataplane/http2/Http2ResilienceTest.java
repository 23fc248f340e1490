package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Retries, circuit breakers and per-try timeouts on HTTP/2 client streams, over real sockets. */
class Http2ResilienceTest {
  private static final String RETRY = """
                        retry_policy:
                          retry_on: %s
                          num_retries: 2
                          retry_back_off: { base_interval: 0.005s }
                          retry_host_predicate:
                          - name: envoy.retry_host_predicates.previous_hosts
                          host_selection_retry_max_attempts: 3
      """;

  private static String routes(String routeExtras) {
    return """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route:
                          cluster: c
                          timeout: 10s
        """ + routeExtras;
  }

  /** The virtual host of {@code routes} with include_request_attempt_count and include_attempt_count_in_response. */
  static String withAttemptCount(String routes) {
    return routes.replace("domains: [\"*\"]\n", "domains: [\"*\"]\n"
        + "              include_request_attempt_count: true\n"
        + "              include_attempt_count_in_response: true\n");
  }

  private static String h2Cluster(int... ports) {
    return ProxyHarness.cluster("c", "ROUND_ROBIN", ports).replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n");
  }

  private static long stat(ProxyHarness proxy, String name) throws Exception {
    for (String line : proxy.admin("/stats").split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2).trim());
      }
    }
    return -1;
  }

  @Test
  void aGrpcCallAnsweredUnavailableIsRetriedOnAnotherHost() throws Exception {
    try (GrpcEcho bad = new GrpcEcho(); GrpcEcho good = new GrpcEcho()) {
      bad.failUnary = Status.UNAVAILABLE.withDescription("draining");
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(RETRY.formatted("unavailable")),
          h2Cluster(bad.port(), good.port())), PipelineMode.DISRUPTOR)) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
            InsecureChannelCredentials.create()).build();
        try {
          for (int i = 0; i < 10; i++) {
            assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "hi " + i)).isEqualTo("hi " + i);
          }
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(good.calls.get()).isEqualTo(10);
        assertThat(bad.calls.get()).isPositive();
        assertThat(stat(proxy, "cluster.c.upstream_rq_retry")).isEqualTo(bad.calls.get());
        assertThat(stat(proxy, "cluster.c.upstream_rq_retry_success")).isEqualTo(bad.calls.get());
      }
    }
  }

  @Test
  void aGrpcCallIsNotRetriedWhenRetryOnDoesNotNameItsStatus() throws Exception {
    try (GrpcEcho bad = new GrpcEcho()) {
      bad.failUnary = Status.UNAVAILABLE;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(RETRY.formatted("cancelled")),
          h2Cluster(bad.port())), PipelineMode.INLINE)) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
            InsecureChannelCredentials.create()).build();
        try {
          Status s = Status.fromThrowable(org.assertj.core.api.Assertions.catchThrowable(() -> ClientCalls.blockingUnaryCall(
              channel, GrpcEcho.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "x")));
          assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(bad.calls.get()).isEqualTo(1);
        assertThat(stat(proxy, "cluster.c.upstream_rq_retry")).isZero();
      }
    }
  }

  @Test
  void anH2RequestBodyIsSentAgainWhenA503IsRetriedOnAnotherHost() throws Exception {
    try (TestUpstream bad = new TestUpstream("bad"); TestUpstream good = new TestUpstream("good")) {
      bad.forceStatus = 503;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(RETRY.formatted("5xx,connect-failure")),
          ProxyHarness.cluster("c", "ROUND_ROBIN", bad.port(), good.port())), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        byte[] body = "x".repeat(5000).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 6; i++) {
          DefaultFullHttpRequest post = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/post/" + i,
              Unpooled.wrappedBuffer(body));
          post.headers().setInt("content-length", body.length);
          FullHttpResponse r = client.send(post).get(10, TimeUnit.SECONDS);
          try {
            assertThat(r.status().code()).isEqualTo(200);
            assertThat(r.headers().get("x-upstream")).isEqualTo("good");
            assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("body-bytes: 5000");
          } finally {
            r.release();
          }
        }
        assertThat(bad.requests.get()).isPositive();
        assertThat(stat(proxy, "cluster.c.upstream_rq_retry")).isEqualTo(bad.requests.get());
      }
    }
  }

  @Test
  void aRetriedStreamCarriesItsAttemptCountUpstreamAndBack() throws Exception {
    try (TestUpstream bad = new TestUpstream("bad"); TestUpstream good = new TestUpstream("good")) {
      bad.forceStatus = 503;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(withAttemptCount(routes(RETRY.formatted("5xx"))),
          ProxyHarness.cluster("c", "ROUND_ROBIN", bad.port(), good.port())), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        int retried = 0;
        for (int i = 0; i < 4; i++) {
          DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/a" + i);
          get.headers().set("x-envoy-attempt-count", "7"); // the client's own value is replaced
          FullHttpResponse r = client.send(get).get(10, TimeUnit.SECONDS);
          try {
            assertThat(r.status().code()).isEqualTo(200);
            assertThat(r.headers().get("x-upstream")).isEqualTo("good");
            String count = r.headers().get("x-envoy-attempt-count");
            assertThat(count).isIn("1", "2");
            assertThat(r.content().toString(StandardCharsets.UTF_8))
                .as("what the upstream saw on the try that answered").contains("x-envoy-attempt-count: " + count + "\n")
                .doesNotContain("x-envoy-attempt-count: 7");
            if (count.equals("2")) {
              retried++;
            }
          } finally {
            r.release();
          }
        }
        assertThat(retried).as("round robin sends some first tries to the bad host").isPositive()
            .isEqualTo(bad.requests.get());
        assertThat(bad.lastHeaders.get("x-envoy-attempt-count")).as("the first try").isEqualTo("1");
      }
    }
  }

  @Test
  void withoutTheVirtualHostFieldsNoAttemptCountIsSent() throws Exception {
    try (TestUpstream up = new TestUpstream("up")) {
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(RETRY.formatted("5xx")),
          ProxyHarness.cluster("c", "ROUND_ROBIN", up.port())), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/a"))
            .get(10, TimeUnit.SECONDS);
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.headers().get("x-envoy-attempt-count")).isNull();
        assertThat(r.content().toString(StandardCharsets.UTF_8)).doesNotContain("x-envoy-attempt-count");
        r.release();
      }
    }
  }

  @Test
  void maxRequestsRefusesTheStreamBeyondItsLimitWith503Overflow() throws Exception {
    try (TestUpstream up = new TestUpstream("up")) {
      String clusters = ProxyHarness.cluster("c", "ROUND_ROBIN", up.port()) + """
              circuit_breakers:
                thresholds:
                - max_requests: 2
          """;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(""), clusters), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        List<CompletableFuture<FullHttpResponse>> slow = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          slow.add(client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/delay/3000")));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 2);
        FullHttpResponse refused = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/third"))
            .get(10, TimeUnit.SECONDS);
        try {
          assertThat(refused.status().code()).isEqualTo(503);
          assertThat(refused.headers().get("x-envoy-overloaded")).isEqualTo("true");
          assertThat(refused.content().toString(StandardCharsets.UTF_8)).contains("overflow");
        } finally {
          refused.release();
        }
        assertThat(up.requests.get()).isEqualTo(2);
        for (CompletableFuture<FullHttpResponse> f : slow) {
          FullHttpResponse r = f.get(10, TimeUnit.SECONDS);
          assertThat(r.status().code()).isEqualTo(200);
          r.release();
        }
        assertThat(stat(proxy, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5))
            .until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_open") == 0);
        FullHttpResponse after = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/after"))
            .get(10, TimeUnit.SECONDS);
        assertThat(after.status().code()).as("closes again once the streams finished").isEqualTo(200);
        after.release();
      }
    }
  }

  @Test
  void atMaxConnectionsAStreamWaitsAsPendingForAConnectionAndTheNextOverflows() throws Exception {
    // HTTP/2 downstream, HTTP/1.1 upstream: each concurrent stream needs a connection of its own.
    try (TestUpstream up = new TestUpstream("up")) {
      String clusters = ProxyHarness.cluster("c", "ROUND_ROBIN", up.port()) + """
              circuit_breakers:
                thresholds:
                - max_connections: 1
                  max_pending_requests: 1
          """;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(""), clusters), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        CompletableFuture<FullHttpResponse> first =
            client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/delay/4000"));
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 1);
        // The only connection is taken: the second stream waits as pending instead of failing.
        CompletableFuture<FullHttpResponse> second =
            client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/second"));
        await().atMost(Duration.ofSeconds(10))
            .until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_pending_open") == 1);
        assertThat(stat(proxy, "cluster.c.upstream_cx_overflow")).isEqualTo(1);
        assertThat(up.requests.get()).as("the pending stream has not reached the upstream").isEqualTo(1);

        // max_pending_requests (1) is taken: the third stream gets 503 UO at once.
        long start = System.nanoTime();
        FullHttpResponse refused = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/third"))
            .get(10, TimeUnit.SECONDS);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        try {
          assertThat(refused.status().code()).isEqualTo(503);
          assertThat(refused.headers().get("x-envoy-overloaded")).isEqualTo("true");
          assertThat(refused.content().toString(StandardCharsets.UTF_8)).contains("overflow");
        } finally {
          refused.release();
        }
        assertThat(tookMs).as("refused at once, not after the slow one").isLessThan(2000);
        assertThat(second).as("still waiting for the connection").isNotDone();

        FullHttpResponse r1 = first.get(20, TimeUnit.SECONDS);
        assertThat(r1.status().code()).isEqualTo(200);
        r1.release();
        FullHttpResponse r2 = second.get(20, TimeUnit.SECONDS);
        try {
          assertThat(r2.status().code()).as("the pending stream got a connection once one freed up").isEqualTo(200);
          assertThat(r2.headers().get("x-upstream")).isEqualTo("up");
        } finally {
          r2.release();
        }
        assertThat(up.requests.get()).isEqualTo(2);
        assertThat(up.connections.get()).as("never two upstream connections at once, so a new one after the first closed")
            .isEqualTo(2);
        assertThat(stat(proxy, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
        assertThat(stat(proxy, "cluster.c.upstream_cx_overflow")).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5))
            .until(() -> stat(proxy, "cluster.c.circuit_breakers.default.rq_pending_open") == 0);
        FullHttpResponse after = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/after"))
            .get(10, TimeUnit.SECONDS);
        assertThat(after.status().code()).as("nothing leaked: the next stream gets through").isEqualTo(200);
        after.release();
      }
    }
  }

  @Test
  void aStreamWaitingForAConnectionStillHitsItsRouteTimeout() throws Exception {
    try (TestUpstream up = new TestUpstream("up")) {
      String clusters = ProxyHarness.cluster("c", "ROUND_ROBIN", up.port()) + """
              circuit_breakers:
                thresholds:
                - max_connections: 1
          """;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes("").replace("timeout: 10s", "timeout: 1s"),
          clusters), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        CompletableFuture<FullHttpResponse> slow =
            client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/delay/3000"));
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 1);
        FullHttpResponse waited = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/delay/3000"))
            .get(10, TimeUnit.SECONDS);
        assertThat(waited.status().code()).as("the route timeout bounds the wait").isEqualTo(504);
        waited.release();
        FullHttpResponse r = slow.get(10, TimeUnit.SECONDS);
        assertThat(r.status().code()).isEqualTo(504);
        r.release();
        await().atMost(Duration.ofSeconds(10)).until(() ->
            stat(proxy, "cluster.c.circuit_breakers.default.rq_pending_open") == 0
                && stat(proxy, "cluster.c.circuit_breakers.default.cx_open") == 0);
        FullHttpResponse after = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/after"))
            .get(10, TimeUnit.SECONDS);
        assertThat(after.status().code()).as("nothing leaked: the next stream gets through").isEqualTo(200);
        after.release();
      }
    }
  }

  @Test
  void aGrpcCallBeyondMaxRequestsIsAnsweredUnavailableAtOnce() throws Exception {
    try (GrpcEcho server = new GrpcEcho()) {
      String clusters = h2Cluster(server.port()) + """
              circuit_breakers:
                thresholds:
                - max_requests: 1
          """;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(""), clusters), PipelineMode.INLINE)) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", proxy.port(),
            InsecureChannelCredentials.create()).build();
        try {
          var slow = ClientCalls.futureUnaryCall(channel.newCall(GrpcEcho.UNARY,
              CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS)), "sleep:2000");
          await().atMost(Duration.ofSeconds(10)).until(() -> server.calls.get() == 1);
          Status s = Status.fromThrowable(org.assertj.core.api.Assertions.catchThrowable(() -> ClientCalls.blockingUnaryCall(
              channel, GrpcEcho.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "second")));
          assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(server.calls.get()).isEqualTo(1);
          assertThat(slow.get(20, TimeUnit.SECONDS)).isEqualTo("slept");
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(stat(proxy, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
      }
    }
  }

  @Test
  void aPerTryTimeoutMovesTheStreamToAnotherHost() throws Exception {
    try (TestUpstream slow = new TestUpstream("slow"); TestUpstream fast = new TestUpstream("fast")) {
      slow.forceDelayMs = 3000;
      String retry = """
                          retry_policy:
                            retry_on: 5xx
                            num_retries: 2
                            per_try_timeout: 0.3s
                            retry_back_off: { base_interval: 0.005s }
                            retry_host_predicate:
                            - name: envoy.retry_host_predicates.previous_hosts
            """;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(routes(retry),
          ProxyHarness.cluster("c", "ROUND_ROBIN", slow.port(), fast.port())), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        for (int i = 0; i < 4; i++) {
          FullHttpResponse r = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/t" + i))
              .get(10, TimeUnit.SECONDS);
          assertThat(r.status().code()).isEqualTo(200);
          assertThat(r.headers().get("x-upstream")).isEqualTo("fast");
          r.release();
        }
        assertThat(stat(proxy, "cluster.c.upstream_rq_per_try_timeout")).isEqualTo(slow.requests.get()).isPositive();
      }
    }
  }
}
