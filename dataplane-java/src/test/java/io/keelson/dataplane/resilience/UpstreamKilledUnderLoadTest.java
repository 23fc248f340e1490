package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.resilience.ResilienceConfigs.stat;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The headline: three upstreams under keep-alive load, one killed mid-run. Retries hide the failures,
 * outlier detection takes the dead host out, and once it is back it gets traffic again after its
 * ejection time.
 */
class UpstreamKilledUnderLoadTest {
  private static final String RETRIES = """
      retry_policy:
        retry_on: 5xx,reset,connect-failure
        num_retries: 3
        retry_back_off: { base_interval: 0.005s, max_interval: 0.05s }
        retry_host_predicate:
        - name: envoy.retry_host_predicates.previous_hosts
        host_selection_retry_max_attempts: 3
      """;
  private static final String OUTLIER = """
      outlier_detection:
        consecutive_5xx: 3
        consecutive_gateway_failure: 3
        enforcing_consecutive_gateway_failure: 100
        interval: 0.5s
        base_ejection_time: 2s
        max_ejection_percent: 50
      """;

  @Test
  void successRateStaysAbove999PerMilleWhenOneOfThreeUpstreamsDies() throws Exception {
    TestUpstream a = new TestUpstream("a");
    TestUpstream b = new TestUpstream("b");
    TestUpstream c = new TestUpstream("c");
    TestUpstream revived = null;
    int cPort = c.port();
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(RETRIES), cluster(OUTLIER, a.port(), b.port(), cPort)), PipelineMode.INLINE)) {
      int total = 3000;
      int workers = 8;
      AtomicInteger started = new AtomicInteger();
      AtomicInteger ok = new AtomicInteger();
      AtomicInteger done = new AtomicInteger();
      List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        Thread t = new Thread(() -> {
          HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build(); // keep-alive per worker
          HttpRequest req = HttpRequest.newBuilder(proxy.uri("/load")).timeout(Duration.ofSeconds(20)).build();
          while (started.incrementAndGet() <= total) {
            try {
              HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
              if (r.statusCode() == 200) {
                ok.incrementAndGet();
              } else {
                failures.add(r.statusCode() + " " + r.body());
              }
            } catch (Exception e) {
              failures.add(e.toString());
            }
            done.incrementAndGet();
          }
        });
        t.start();
        threads.add(t);
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> done.get() >= total / 3);
      c.close(); // killed mid-run: in-flight requests reset, new connects refused
      await().atMost(Duration.ofSeconds(20)).until(() ->
          proxy.admin("/clusters").contains("c::127.0.0.1:" + cPort + "::health_flags::/failed_outlier_check"));
      for (Thread t : threads) {
        t.join(120_000);
      }
      assertThat(done.get()).isEqualTo(total);
      assertThat(ok.get()).as("failures: %s", failures).isGreaterThanOrEqualTo(total - total / 1000);
      String stats = proxy.admin("/stats");
      assertThat(stat(stats, "cluster.c.outlier_detection.ejections_enforced_total")).isPositive();
      assertThat(stat(stats, "cluster.c.upstream_rq_retry")).isPositive();

      revived = new TestUpstream("c", cPort);
      TestUpstream back = revived;
      await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(50)).until(() -> {
        proxy.get("/probe");
        return back.requests.get() > 0;
      });
      assertThat(stat(proxy.admin("/stats"), "cluster.c.outlier_detection.ejections_active")).isZero();
    } finally {
      a.close();
      b.close();
      if (revived != null) {
        revived.close();
      }
    }
  }
}
