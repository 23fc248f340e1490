package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.resilience.ResilienceConfigs.stat;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Route retry policies over real sockets: what is retried, where, how often, and what is counted. */
class RetryTest {
  private static final String RETRY_5XX = """
                        retry_policy:
                          retry_on: 5xx,connect-failure,reset
                          num_retries: 2
                          retry_back_off: { base_interval: 0.005s }
                          retry_host_predicate:
                          - name: envoy.retry_host_predicates.previous_hosts
                          host_selection_retry_max_attempts: 3
      """;

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void a503IsRetriedOnAnotherHostAndCountedAsARetrySuccess(PipelineMode mode) throws Exception {
    try (TestUpstream bad = new TestUpstream("bad"); TestUpstream good = new TestUpstream("good")) {
      bad.forceStatus = 503;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(RETRY_5XX), cluster("", bad.port(), good.port())), mode)) {
        for (int i = 0; i < 20; i++) {
          HttpResponse<String> r = proxy.get("/r" + i);
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(r.headers().firstValue("x-upstream")).hasValue("good");
        }
        String stats = proxy.admin("/stats");
        long retries = stat(stats, "cluster.c.upstream_rq_retry");
        assertThat(retries).isEqualTo(bad.requests.get()).isGreaterThan(0);
        assertThat(stat(stats, "cluster.c.upstream_rq_retry_success")).isEqualTo(retries);
        assertThat(stat(stats, "cluster.c.upstream_rq_retry_limit_exceeded")).isZero();
        assertThat(good.requests.get()).isEqualTo(20);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRetriedRequestCarriesItsAttemptCountUpstreamAndBack(PipelineMode mode) throws Exception {
    try (TestUpstream bad = new TestUpstream("bad"); TestUpstream good = new TestUpstream("good")) {
      bad.forceStatus = 503;
      String routes = routes(RETRY_5XX).replace("domains: [\"*\"]\n", "domains: [\"*\"]\n"
          + "              include_request_attempt_count: true\n"
          + "              include_attempt_count_in_response: true\n");
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes, cluster("", bad.port(), good.port())), mode)) {
        int retried = 0;
        for (int i = 0; i < 4; i++) {
          HttpResponse<String> r = proxy.get("/a" + i);
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(r.headers().firstValue("x-upstream")).hasValue("good");
          String count = r.headers().firstValue("x-envoy-attempt-count").orElseThrow();
          assertThat(count).isIn("1", "2");
          assertThat(r.body()).as("what the upstream saw on the try that answered").contains("x-envoy-attempt-count: " + count + "\n");
          if (count.equals("2")) {
            retried++;
          }
        }
        assertThat(retried).isPositive().isEqualTo(bad.requests.get());
        assertThat(bad.lastHeaders.get("x-envoy-attempt-count")).as("the first try").isEqualTo("1");
      }
    }
  }

  @Test
  void retriesStopAtNumRetriesAndTheLastResponseIsForwarded() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b")) {
      a.forceStatus = 503;
      b.forceStatus = 503;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(RETRY_5XX), cluster("", a.port(), b.port())), PipelineMode.INLINE)) {
        HttpResponse<String> r = proxy.get("/x");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("x-upstream")).isPresent(); // the upstream's own answer, not a local reply
        assertThat(a.requests.get() + b.requests.get()).isEqualTo(3);
        String stats = proxy.admin("/stats");
        assertThat(stat(stats, "cluster.c.upstream_rq_retry")).isEqualTo(2);
        assertThat(stat(stats, "cluster.c.upstream_rq_retry_limit_exceeded")).isEqualTo(1);
        assertThat(stat(stats, "cluster.c.upstream_rq_retry_success")).isZero();
      }
    }
  }

  @Test
  void statusesOutsideRetryOnAreNotRetried() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      a.forceStatus = 409;
      String policy = """
                        retry_policy:
                          retry_on: gateway-error
                          num_retries: 3
          """;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(policy), cluster("", a.port())), PipelineMode.INLINE)) {
        assertThat(proxy.get("/x").statusCode()).isEqualTo(409);
        assertThat(a.requests.get()).isEqualTo(1);
        a.forceStatus = 500;
        assertThat(proxy.get("/x").statusCode()).as("500 is not a gateway error").isEqualTo(500);
        assertThat(a.requests.get()).isEqualTo(2);
      }
    }
  }

  @Test
  void retriable4xxAndRetriableStatusCodesAreRetried() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      String policy = """
                        retry_policy:
                          retry_on: retriable-4xx,retriable-status-codes
                          retriable_status_codes: [418]
                          num_retries: 1
                          retry_back_off: { base_interval: 0.001s }
          """;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(policy), cluster("", a.port())), PipelineMode.INLINE)) {
        a.forceStatus = 409;
        assertThat(proxy.get("/x").statusCode()).isEqualTo(409);
        assertThat(a.requests.get()).isEqualTo(2);
        a.forceStatus = 418;
        assertThat(proxy.get("/x").statusCode()).isEqualTo(418);
        assertThat(a.requests.get()).isEqualTo(4);
      }
    }
  }

  @Test
  void aConnectFailureIsRetriedOnALiveHost() throws Exception {
    int deadPort;
    try (TestUpstream dead = new TestUpstream("dead")) {
      deadPort = dead.port();
    }
    try (TestUpstream good = new TestUpstream("good")) {
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(RETRY_5XX), cluster("", deadPort, good.port())), PipelineMode.INLINE)) {
        for (int i = 0; i < 10; i++) {
          assertThat(proxy.get("/x").statusCode()).isEqualTo(200);
        }
        assertThat(stat(proxy.admin("/stats"), "cluster.c.upstream_cx_connect_fail")).isPositive();
      }
    }
  }

  @Test
  void aRequestBodyIsSentAgainOnTheRetry() throws Exception {
    try (TestUpstream bad = new TestUpstream("bad"); TestUpstream good = new TestUpstream("good")) {
      bad.forceStatus = 503;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(RETRY_5XX), cluster("", bad.port(), good.port())), PipelineMode.INLINE)) {
        String body = "x".repeat(20_000);
        for (int i = 0; i < 4; i++) {
          HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/post")).POST(HttpRequest.BodyPublishers.ofString(body)));
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(r.body()).contains("body-bytes: 20000");
        }
        assertThat(bad.requests.get()).isPositive();
      }
    }
  }

  @Test
  void aBodyLargerThanTheBufferLimitIsNotRetried() throws Exception {
    try (TestUpstream bad = new TestUpstream("bad")) {
      bad.forceStatus = 503;
      String routes = ResilienceConfigs.reindent("""
          - name: main
            domains: ["*"]
            routes:
            - match: { prefix: "/" }
              per_request_buffer_limit_bytes: 1024
              route:
                cluster: c
          """, 12) + ResilienceConfigs.reindent(RETRY_5XX, 18);
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes, cluster("", bad.port())), PipelineMode.INLINE)) {
        HttpResponse<String> small = proxy.send(HttpRequest.newBuilder(proxy.uri("/post")).POST(HttpRequest.BodyPublishers.ofString("y".repeat(100))));
        assertThat(small.statusCode()).isEqualTo(503);
        assertThat(bad.requests.get()).isEqualTo(3);
        HttpResponse<String> big = proxy.send(HttpRequest.newBuilder(proxy.uri("/post")).POST(HttpRequest.BodyPublishers.ofString("y".repeat(4096))));
        assertThat(big.statusCode()).isEqualTo(503);
        assertThat(bad.requests.get()).as("not retried").isEqualTo(4);
      }
    }
  }

  @Test
  void aSlowHostHitsThePerTryTimeoutAndTheRetryGoesToAnotherHost() throws Exception {
    try (TestUpstream slow = new TestUpstream("slow"); TestUpstream fast = new TestUpstream("fast")) {
      slow.forceDelayMs = 5000;
      String policy = """
                        retry_policy:
                          retry_on: 5xx
                          num_retries: 2
                          per_try_timeout: 0.3s
                          retry_back_off: { base_interval: 0.005s }
                          retry_host_predicate:
                          - name: envoy.retry_host_predicates.previous_hosts
          """;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(policy), cluster("", slow.port(), fast.port())), PipelineMode.INLINE)) {
        for (int i = 0; i < 4; i++) {
          long start = System.nanoTime();
          HttpResponse<String> r = proxy.get("/x" + i);
          long ms = (System.nanoTime() - start) / 1_000_000;
          assertThat(r.statusCode()).isEqualTo(200);
          assertThat(r.headers().firstValue("x-upstream")).hasValue("fast");
          assertThat(ms).isLessThan(4000);
        }
        String stats = proxy.admin("/stats");
        assertThat(stat(stats, "cluster.c.upstream_rq_per_try_timeout")).isEqualTo(slow.requests.get()).isPositive();
      }
    }
  }

  @Test
  void theRetryBudgetCapsRetriesInAFullOutage() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b")) {
      a.forceStatus = 503;
      b.forceStatus = 503;
      a.forceDelayMs = 300;
      b.forceDelayMs = 300;
      String policy = """
                        retry_policy:
                          retry_on: 5xx
                          num_retries: 5
                          retry_back_off: { base_interval: 0.001s }
          """;
      String clusters = cluster("""
              circuit_breakers:
                thresholds:
                - retry_budget: { budget_percent: { value: 10 }, min_retry_concurrency: 3 }
          """, a.port(), b.port());
      int clients = 30;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(policy), clusters), PipelineMode.INLINE)) {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          all.add(CompletableFuture.supplyAsync(() -> {
            try {
              return proxy.get("/x");
            } catch (Exception e) {
              throw new RuntimeException(e);
            }
          }));
        }
        for (var f : all) {
          assertThat(f.get().statusCode()).isEqualTo(503);
        }
        String stats = proxy.admin("/stats");
        long retries = stat(stats, "cluster.c.upstream_rq_retry");
        // Without a budget: 30 × 5 retries. With it: at most 3 retries in flight at once.
        assertThat(a.requests.get() + b.requests.get()).isEqualTo(clients + retries);
        assertThat(retries).isLessThan(clients * 5 / 3);
        assertThat(stat(stats, "cluster.c.upstream_rq_retry_overflow")).isPositive();
      }
    }
  }

  @Test
  void xEnvoyRetryOnAndMaxRetriesHeadersAdjustTheRoutePolicyForOneRequest() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      a.forceStatus = 503;
      // The headers are honoured from an internal client only (loopback, by internal_address_config).
      try (ProxyHarness proxy = new ProxyHarness(ResilienceConfigs.loopbackInternal(bootstrap(routes(""),
          cluster("", a.port()))), PipelineMode.INLINE)) {
        assertThat(proxy.get("/x").statusCode()).isEqualTo(503);
        assertThat(a.requests.get()).as("no policy, no header: one try").isEqualTo(1);
        assertThat(proxy.get("/x", "x-envoy-retry-on", "gateway-error", "x-envoy-max-retries", "3").statusCode()).isEqualTo(503);
        assertThat(a.requests.get()).isEqualTo(5);
        assertThat(proxy.get("/x", "x-envoy-retry-on", "retriable-4xx").statusCode()).isEqualTo(503);
        assertThat(a.requests.get()).as("503 is not a retriable 4xx").isEqualTo(6);
      }
    }
  }
}
