package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.resilience.ResilienceConfigs.stat;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Circuit breakers open at exactly their limit, answer 503 UO at once, and show on /stats. */
class CircuitBreakerTest {

  private static List<CompletableFuture<HttpResponse<String>>> slowRequests(ProxyHarness proxy, int n, String path) {
    List<CompletableFuture<HttpResponse<String>>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(CompletableFuture.supplyAsync(() -> {
        try {
          return proxy.get(path);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }));
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void maxRequestsAdmitsExactlyItsLimitThenAnswers503Overflow(PipelineMode mode) throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String clusters = cluster("""
              circuit_breakers:
                thresholds:
                - max_requests: 3
          """, up.port());
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), clusters), mode)) {
        var slow = slowRequests(proxy, 3, "/delay/3000");
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 3);
        assertThat(stat(proxy.admin("/stats"), "cluster.c.circuit_breakers.default.rq_open")).isEqualTo(1);
        assertThat(stat(proxy.admin("/stats"), "cluster.c.circuit_breakers.default.remaining_rq")).isEqualTo(0);

        long start = System.nanoTime();
        HttpResponse<String> refused = proxy.get("/fourth");
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("overflow");
        assertThat(refused.headers().firstValue("x-envoy-overloaded")).hasValue("true");
        assertThat(tookMs).as("refused at once, not after the slow ones").isLessThan(2500);
        assertThat(up.requests.get()).isEqualTo(3);

        for (var f : slow) {
          assertThat(f.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        String stats = proxy.admin("/stats");
        assertThat(stat(stats, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
        assertThat(stat(stats, "cluster.c.circuit_breakers.default.rq_open")).isEqualTo(0);
        assertThat(proxy.get("/after").statusCode()).as("closes again once requests finish").isEqualTo(200);
        assertThat(proxy.admin("/stats/prometheus")).contains("envoy_cluster_upstream_rq_pending_overflow{envoy_cluster_name=\"c\"} 1");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void atMaxConnectionsRequestsWaitAsPendingUpToMaxPendingThenOverflow(PipelineMode mode) throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String clusters = cluster("""
              circuit_breakers:
                thresholds:
                - max_connections: 2
                  max_pending_requests: 1
          """, up.port());
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), clusters), mode)) {
        // One at a time: a request is pending while its connection opens, and max_pending_requests is 1.
        var slow = new ArrayList<>(slowRequests(proxy, 1, "/delay/3000"));
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 1);
        slow.addAll(slowRequests(proxy, 1, "/delay/3000"));
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 2);
        // The third request finds both connections taken: it waits as pending instead of failing.
        var third = slowRequests(proxy, 1, "/third");
        await().atMost(Duration.ofSeconds(10)).until(() ->
            stat(proxy.admin("/stats"), "cluster.c.circuit_breakers.default.rq_pending_open") == 1);
        assertThat(up.requests.get()).as("the pending request has not reached the upstream").isEqualTo(2);
        assertThat(third.get(0)).isNotDone();

        // max_pending_requests (1) is taken: the fourth gets 503 UO at once.
        long start = System.nanoTime();
        HttpResponse<String> refused = proxy.get("/fourth");
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("overflow");
        assertThat(refused.headers().firstValue("x-envoy-overloaded")).hasValue("true");
        assertThat(tookMs).as("refused at once, not after the slow ones").isLessThan(2000);

        for (var f : slow) {
          assertThat(f.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> waited = third.get(0).get(30, TimeUnit.SECONDS);
        assertThat(waited.statusCode()).as("the pending request got a connection once one freed up").isEqualTo(200);
        assertThat(waited.headers().firstValue("x-upstream")).hasValue("a");
        String stats = proxy.admin("/stats");
        assertThat(stat(stats, "cluster.c.upstream_rq_pending_overflow")).isEqualTo(1);
        assertThat(stat(stats, "cluster.c.upstream_cx_overflow")).isPositive();
        assertThat(stat(stats, "cluster.c.circuit_breakers.default.rq_pending_open")).isEqualTo(0);
        assertThat(up.requests.get()).isEqualTo(3);
        assertThat(proxy.get("/after").statusCode()).isEqualTo(200);
      }
    }
  }

  @Test
  void aPendingRequestWaitingForAConnectionStillHitsItsRouteTimeout() throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String clusters = cluster("""
              circuit_breakers:
                thresholds:
                - max_connections: 1
          """, up.port());
      String timeout = "timeout: 1s";
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes("").replace("timeout: 10s", timeout), clusters),
          PipelineMode.INLINE)) {
        var slow = slowRequests(proxy, 1, "/delay/3000");
        await().atMost(Duration.ofSeconds(10)).until(() -> up.requests.get() == 1);
        HttpResponse<String> waited = proxy.get("/delay/3000");
        assertThat(waited.statusCode()).as("the route timeout bounds the wait and the try").isEqualTo(504);
        assertThat(slow.get(0).get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(504);
        await().atMost(Duration.ofSeconds(10)).until(() ->
            stat(proxy.admin("/stats"), "cluster.c.circuit_breakers.default.rq_pending_open") == 0);
        assertThat(proxy.get("/after").statusCode()).as("nothing leaked: the next request gets through").isEqualTo(200);
      }
    }
  }

  @Test
  void maxRetriesAdmitsExactlyItsLimitOfConcurrentRetries() throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      up.forceStatus = 503;
      up.forceDelayMs = 1500;
      String policy = """
                        retry_policy:
                          retry_on: 5xx
                          num_retries: 1
                          retry_back_off: { base_interval: 0.001s }
          """;
      String clusters = cluster("""
              circuit_breakers:
                thresholds:
                - max_retries: 2
          """, up.port());
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(policy), clusters), PipelineMode.INLINE)) {
        var all = slowRequests(proxy, 5, "/x");
        for (var f : all) {
          assertThat(f.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
        }
        String stats = proxy.admin("/stats");
        assertThat(stat(stats, "cluster.c.upstream_rq_retry")).as("exactly max_retries retries at once").isEqualTo(2);
        assertThat(stat(stats, "cluster.c.upstream_rq_retry_overflow")).isEqualTo(3);
        assertThat(up.requests.get()).isEqualTo(7);
      }
    }
  }

  @Test
  void sharedCountersAdmitExactlyTheLimitAcrossThreads() throws Exception {
    CircuitBreakers breakers = new CircuitBreakers();
    CircuitBreakerConfig.Thresholds t = new CircuitBreakerConfig.Thresholds(10, 10, 100, 3, null);
    CircuitBreakers.Resources r = breakers.of(false);
    int threads = 4;
    int[] admitted = new int[threads];
    Thread[] ts = new Thread[threads];
    for (int i = 0; i < threads; i++) {
      int id = i;
      ts[i] = new Thread(() -> {
        for (int k = 0; k < 1000; k++) {
          if (r.tryAcquireRequest(t)) {
            admitted[id]++;
          }
        }
      });
      ts[i].start();
    }
    for (Thread th : ts) {
      th.join(30_000);
    }
    int total = 0;
    for (int a : admitted) {
      total += a;
    }
    assertThat(total).isEqualTo(100);
    assertThat(r.requests()).isEqualTo(100);
  }

  @Test
  void retryBudgetAllowsAShareOfActiveRequestsAndAtLeastTheMinimum() {
    CircuitBreakers.Resources r = new CircuitBreakers().of(false);
    var t = new CircuitBreakerConfig.Thresholds(1024, 1024, 1024, 3, new CircuitBreakerConfig.RetryBudget(20.0, 3));
    assertThat(r.maxRetries(t)).isEqualTo(3);
    for (int i = 0; i < 50; i++) {
      r.tryAcquireRequest(t);
    }
    assertThat(r.maxRetries(t)).isEqualTo(10);
    int granted = 0;
    while (r.tryAcquireRetry(t)) {
      granted++;
    }
    assertThat(granted).isEqualTo(10);
  }
}
