package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IstioPeerMetadataEndToEndTest.get;
import static io.keelson.control.sidecar.IstioPeerMetadataEndToEndTest.requests;
import static io.keelson.control.sidecar.IstioPeerMetadataEndToEndTest.samples;
import static io.keelson.control.sidecar.IstioPeerMetadataEndToEndTest.scrape;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Telemetry {@code metrics} between two real sidecars over mesh mTLS from the control plane: a mesh-wide Telemetry
 * removing {@code request_protocol} and adding {@code request_host} = {@code request.host} changes both reporters'
 * series, a workload's Telemetry disabling REQUEST_COUNT in SERVER mode stops the destination's
 * {@code istio_requests_total} while its duration histogram and the client's count go on, and deleting both brings
 * Istio's labels and the destination's count back, live; the same for an inbound tcp_proxy's {@code istio_tcp_*}.
 */
class IstioMetricsTelemetryEndToEndTest {
  private static final String MESH = """
      apiVersion: telemetry.istio.io/v1
      kind: Telemetry
      metadata: { name: mesh-default, namespace: istio-system }
      spec:
        metrics:
        - providers: [ { name: prometheus } ]
          overrides:
          - match: { metric: ALL_METRICS }
            tagOverrides:
              request_protocol: { operation: REMOVE }
              request_host: { value: request.host }
      """;
  private static final String PRODUCT_SERVER_COUNT_OFF = """
      apiVersion: telemetry.istio.io/v1
      kind: Telemetry
      metadata: { name: product, namespace: default }
      spec:
        selector: { matchLabels: { app: product } }
        metrics:
        - overrides:
          - match: { metric: REQUEST_COUNT, mode: SERVER }
            disabled: true
      """;

  @Test
  void tagOverridesAndADisabledServerCountReachTheScrapeAndGoAwayWhenDeleted() throws Exception {
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        TestUpstream app = new TestUpstream("product");
        Sidecar product = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app.port(),
            Map.of("app", "product", "version", "v1"));
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1, Map.of("app", "web", "version", "v2"))) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES + "---\n" + GrpcMeshTest.STRICT).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(20)).until(() -> get(outbound, "/warmup") != null
          && !SidecarMtlsTest.inbound(product).plaintextToo());
      assertThat(requests(product, "reporter=\"destination\"", "request_protocol=\"http\"")).as(scrape(product)).isNotEmpty();

      cp.store.apply(PolicyParser.parse("telemetry.yaml", MESH + "---\n" + PRODUCT_SERVER_COUNT_OFF).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> get(outbound, "/until-applied") != null
          && !requests(web, "reporter=\"source\"", "request_host=\"product-service\"").isEmpty()
          && !samples(product, "istio_request_duration_milliseconds_count", "reporter=\"destination\"",
              "request_host=\"product-service\"").isEmpty());
      long sourceBefore = sum(requests(web, "reporter=\"source\"", "request_host=\"product-service\""));
      long destinationBefore = sum(requests(product, "reporter=\"destination\""));
      long durationBefore = sum(samples(product, "istio_request_duration_milliseconds_count", "reporter=\"destination\"",
          "request_host=\"product-service\""));
      for (int i = 0; i < 3; i++) {
        assertThat(get(outbound, "/items/" + i)).isNotNull();
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(sum(samples(product,
          "istio_request_duration_milliseconds_count", "reporter=\"destination\"", "request_host=\"product-service\"")))
          .as(scrape(product)).isEqualTo(durationBefore + 3));
      List<String> source = requests(web, "reporter=\"source\"", "request_host=\"product-service\"",
          "destination_workload=\"product-service\"", "source_workload=\"web\"", "response_code=\"200\"");
      assertThat(source).as(scrape(web)).hasSize(1).noneMatch(l -> l.contains("request_protocol="));
      assertThat(sum(source) - sourceBefore).as("the client's count goes on, merged into one series").isEqualTo(3);
      assertThat(sum(requests(product, "reporter=\"destination\""))).as("no destination count: " + scrape(product))
          .isEqualTo(destinationBefore);
      assertThat(samples(product, "istio_request_duration_milliseconds_count", "reporter=\"destination\"",
          "request_host=\"product-service\"")).noneMatch(l -> l.contains("request_protocol="));

      cp.store.delete("Telemetry", "default", "product", false);
      cp.store.delete("Telemetry", "istio-system", "mesh-default", false);
      await().atMost(Duration.ofSeconds(20)).until(() -> get(outbound, "/until-deleted") != null
          && sum(requests(product, "reporter=\"destination\"", "request_protocol=\"http\"")) > destinationBefore);
      long webHttp = sum(requests(web, "reporter=\"source\"", "request_protocol=\"http\""));
      long overridden = sum(requests(web, "reporter=\"source\"", "request_host=\"product-service\""));
      assertThat(get(outbound, "/after")).isNotNull();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(sum(requests(web, "reporter=\"source\"", "request_protocol=\"http\""))).isEqualTo(webHttp + 1));
      assertThat(sum(requests(web, "reporter=\"source\"", "request_host=\"product-service\""))).as("the overridden "
          + "series stay as they were when the Telemetry went").isEqualTo(overridden);
    }
  }

  private static final String TCP_OVERRIDES = """
      apiVersion: telemetry.istio.io/v1
      kind: Telemetry
      metadata: { name: mesh-default, namespace: istio-system }
      spec:
        metrics:
        - overrides:
          - match: { metric: TCP_OPENED_CONNECTIONS, mode: SERVER }
            disabled: true
          - tagOverrides:
              request_protocol: { operation: REMOVE }
              zone: { value: "'eu-1'" }
      """;

  @Test
  void tcpMetricsTakeTheOverridesOfTheInboundTcpProxyLive() throws Exception {
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        SidecarTcpAuthorizationTest.TcpEcho app = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echo = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", app.port())) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        var in = SidecarTcpAuthorizationTest.inbound(echo);
        assertThat(in != null && in.tcpProxy() != null && in.tls() != null).isTrue();
      });
      int inbound = echo.inboundAddress().getPort();
      assertThat(SidecarTcpAuthorizationTest.plaintext(inbound)).isEqualTo("hello world");
      await().atMost(Duration.ofSeconds(10)).until(() -> sum(samples(echo, "istio_tcp_connections_opened_total",
          "reporter=\"destination\"", "request_protocol=\"tcp\"")) == 1);

      cp.store.apply(PolicyParser.parse("telemetry.yaml", TCP_OVERRIDES).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        var in = SidecarTcpAuthorizationTest.inbound(echo);
        return in != null && in.tcpProxy() != null && !in.tcpProxy().istioMetrics().isEmpty();
      });
      for (int i = 0; i < 2; i++) {
        assertThat(SidecarTcpAuthorizationTest.plaintext(inbound)).isEqualTo("hello world");
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(samples(echo, "istio_tcp_connections_closed_total", "reporter=\"destination\"", "zone=\"eu-1\""))
            .as(scrape(echo)).singleElement().satisfies(l -> {
              assertThat(l).endsWith(" 2").doesNotContain("request_protocol=");
            });
        assertThat(samples(echo, "istio_tcp_received_bytes_total", "zone=\"eu-1\"")).as("\"world\\n\" twice")
            .singleElement().satisfies(l -> assertThat(l).endsWith(" 12"));
      });
      assertThat(samples(echo, "istio_tcp_connections_opened_total", "zone=\"eu-1\"")).as("disabled: " + scrape(echo))
          .isEmpty();
      assertThat(sum(samples(echo, "istio_tcp_connections_opened_total", "reporter=\"destination\"")))
          .isEqualTo(1);

      cp.store.delete("Telemetry", "istio-system", "mesh-default", false);
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        var in = SidecarTcpAuthorizationTest.inbound(echo);
        return in != null && in.tcpProxy() != null && in.tcpProxy().istioMetrics().isEmpty();
      });
      assertThat(SidecarTcpAuthorizationTest.plaintext(inbound)).isEqualTo("hello world");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(sum(samples(echo,
          "istio_tcp_connections_opened_total", "reporter=\"destination\"", "request_protocol=\"tcp\"")))
          .as(scrape(echo)).isEqualTo(2));
    }
  }

  private static long sum(List<String> samples) {
    return samples.stream().mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }
}
