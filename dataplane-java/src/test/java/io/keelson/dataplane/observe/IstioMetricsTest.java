package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.envoy.NodeIdentity;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.PrometheusText;
import io.keelson.dataplane.testing.PrometheusText.Sample;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** /stats/prometheus carries Istio's standard metrics, parsed by the reference Prometheus parser. */
class IstioMetricsTest {
  private static final String REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";
  private static final String RATINGS = "outbound|9080||ratings.default.svc.cluster.local";

  private static String routes() {
    return """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/ok" }
                        route: { cluster: "%s" }
                      - match: { prefix: "/close" }
                        route: { cluster: "%s" }
                      - match: { prefix: "/down" }
                        route: { cluster: "%s" }
        """.formatted(REVIEWS, REVIEWS, RATINGS);
  }

  private static final String NODE = """
      node:
        id: sidecar~10.0.0.7~productpage-v1-5d7b.default~default.svc.cluster.local
        cluster: productpage.default
        metadata:
          WORKLOAD_NAME: productpage-v1
          NAMESPACE: default
          SERVICE_ACCOUNT: bookinfo-productpage
          LABELS: { app: productpage, version: v1 }
      """;

  @Test
  void countsRequestsByDestinationCodeAndFlagWithIstioLabels() throws Exception {
    String unavailable = PrometheusText.unavailableReason();
    assumeTrue(unavailable == null, unavailable);
    int deadPort = TestUpstream.closedPort();
    try (TestUpstream up = new TestUpstream("reviews")) {
      String yaml = NODE + bootstrap(routes(), cluster(REVIEWS, "ROUND_ROBIN", up.port()) + cluster(RATINGS, "ROUND_ROBIN", deadPort));
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE)) {
        proxy.server.stats().identity(NodeIdentity.fromBootstrap(yaml, "test.yaml"));
        for (int i = 0; i < 7; i++) {
          assertThat(proxy.get("/ok/" + i).statusCode()).isEqualTo(200);
        }
        for (int i = 0; i < 3; i++) {
          assertThat(proxy.get("/nowhere").statusCode()).isEqualTo(404);
        }
        for (int i = 0; i < 2; i++) {
          assertThat(proxy.get("/down").statusCode()).isEqualTo(503);
        }
        List<Sample> samples = PrometheusText.parse(proxy.admin("/stats/prometheus"));

        Sample ok = one(samples, "istio_requests_total", REVIEWS, "200", "-");
        assertThat(ok.value()).isEqualTo(7);
        assertThat(ok.labels()).containsAllEntriesOf(Map.of(
            "reporter", "source",
            "source_workload", "productpage-v1",
            "source_workload_namespace", "default",
            "source_app", "productpage",
            "source_version", "v1",
            "source_principal", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"));
        assertThat(ok.labels()).containsAllEntriesOf(Map.of(
            "destination_service", "reviews.default.svc.cluster.local",
            "destination_service_name", "reviews",
            "destination_service_namespace", "default",
            "destination_workload", "unknown",
            "request_protocol", "http"));
        assertThat(one(samples, "istio_requests_total", "unknown", "404", "NR").value()).isEqualTo(3);
        assertThat(one(samples, "istio_requests_total", RATINGS, "503", "UF").value()).isEqualTo(2);
        assertThat(samples.stream().filter(s -> s.name().equals("istio_requests_total")).mapToDouble(Sample::value).sum())
            .isEqualTo(12);

        // The histograms: 7 observations, cumulative buckets ending at the count, the body bytes summed.
        assertThat(one(samples, "istio_request_duration_milliseconds_count", REVIEWS, "200", "-").value()).isEqualTo(7);
        Sample inf = samples.stream().filter(s -> s.name().equals("istio_request_duration_milliseconds_bucket")
            && matches(s, REVIEWS, "200", "-") && s.labels().get("le").equals("+Inf")).findFirst().orElseThrow();
        assertThat(inf.value()).isEqualTo(7);
        assertThat(samples.stream().filter(s -> s.name().equals("istio_request_duration_milliseconds_bucket")
            && matches(s, REVIEWS, "200", "-")).map(s -> s.labels().get("le")).toList())
            .containsExactly("0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
                "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf");
        assertThat(one(samples, "istio_request_duration_milliseconds_sum", REVIEWS, "200", "-").value()).isPositive();
        assertThat(one(samples, "istio_response_bytes_count", REVIEWS, "200", "-").value()).isEqualTo(7);
        assertThat(one(samples, "istio_response_bytes_sum", REVIEWS, "200", "-").value()).isPositive();
        assertThat(one(samples, "istio_request_bytes_sum", REVIEWS, "200", "-").value()).isZero(); // GETs: no body
        assertThat(one(samples, "istio_request_duration_milliseconds", REVIEWS, "200", "-", "family").type())
            .isEqualTo("histogram");

        // Envoy's internals alongside.
        assertThat(envoy(samples, "envoy_cluster_upstream_rq_total", REVIEWS)).isEqualTo(7);
        assertThat(envoy(samples, "envoy_cluster_upstream_cx_connect_fail_total", RATINGS)).isEqualTo(2);
      }
    }
  }

  @Test
  void aResponseCutByTheUpstreamIsRecordedOnceWithItsFlag() throws Exception {
    String unavailable = PrometheusText.unavailableReason();
    assumeTrue(unavailable == null, unavailable);
    try (TestUpstream up = new TestUpstream("reviews")) {
      String yaml = bootstrap(routes(), cluster(REVIEWS, "ROUND_ROBIN", up.port()) + cluster(RATINGS, "ROUND_ROBIN", up.port()));
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.DISRUPTOR)) {
        assertThat(proxy.get("/close").statusCode()).isEqualTo(503); // the upstream closes without answering
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
          List<Sample> samples = PrometheusText.parse(proxy.admin("/stats/prometheus"));
          assertThat(one(samples, "istio_requests_total", REVIEWS, "503", "UC").value()).isEqualTo(1);
          assertThat(one(samples, "istio_requests_total", REVIEWS, "503", "UC").labels())
              .containsEntry("source_workload", "unknown");
        });
      }
    }
  }

  private static double envoy(List<Sample> samples, String name, String cluster) {
    return samples.stream().filter(s -> s.name().equals(name) && cluster.equals(s.labels().get("envoy_cluster_name")))
        .findFirst().orElseThrow(() -> new AssertionError("no " + name + " for " + cluster)).value();
  }

  private static Sample one(List<Sample> samples, String name, String cluster, String code, String flag) {
    return one(samples, name, cluster, code, flag, "name");
  }

  private static Sample one(List<Sample> samples, String name, String cluster, String code, String flag, String by) {
    Predicate<Sample> p = s -> (by.equals("name") ? s.name() : s.family()).equals(name) && matches(s, cluster, code, flag);
    List<Sample> found = samples.stream().filter(p).toList();
    assertThat(found).as(name + " for " + cluster + " " + code + " " + flag).isNotEmpty();
    return found.get(0);
  }

  private static boolean matches(Sample s, String cluster, String code, String flag) {
    String service = cluster.equals("unknown") ? "unknown" : cluster.split("\\|")[3];
    return service.equals(s.labels().get("destination_service"))
        && code.equals(s.labels().get("response_code"))
        && flag.equals(s.labels().get("response_flags"));
  }
}
