package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import io.keelson.control.demo.SampleService;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.dataplane.testing.ZipkinCollector;
import io.keelson.dataplane.testing.ZipkinCollector.Span;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Istio's zipkin tracing provider configured only at the control plane: {@code bin/keelson control --tracing-zipkin} as a
 * real process with an in-test Zipkin collector, a Telemetry naming the provider, two mTLS sidecars; a curl call through
 * the caller's sidecar reports the caller's CLIENT span and the destination's SERVER span, its child, in one trace.
 */
class ZipkinTelemetryEndToEndTest {
  @TempDir
  Path dir;

  @Test
  void aCallReportsTheCallersClientSpanAndTheDestinationsServerSpanInOneTrace() throws Exception {
    Path controlLog = dir.resolve("control.log");
    try (ZipkinCollector collector = new ZipkinCollector()) {
      TelemetryControlProcess started = TelemetryControlProcess.start(dir, controlLog,
          "--tracing-zipkin", "127.0.0.1:" + collector.port(), "--tracing-sampling", "0");
      try {
        String server = started.server();
        Path services = dir.resolve("services.yaml");
        Files.writeString(services, TelemetryEndToEndTest.SERVICES + """
            ---
            apiVersion: telemetry.istio.io/v1
            kind: Telemetry
            metadata: { name: mesh-default, namespace: istio-system }
            spec:
              tracing: [ { providers: [ { name: zipkin } ], randomSamplingPercentage: 100 } ]
            """);
        Result applied = cli("apply", "-f", services.toString(), "--server", server);
        assertThat(applied.code()).as(applied.err()).isZero();
        Path root = dir.resolve("root.pem");
        Files.writeString(root, cli("ca-root", "--server", server).out());

        try (SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
            Sidecar product = TelemetryEndToEndTest.sidecar(server, started.securePort(), root, "product-service",
                "product", app.port());
            Sidecar web = TelemetryEndToEndTest.sidecar(server, started.securePort(), root, "web", "web", 1)) {
          int outbound = web.outboundAddress().getPort();
          // the bootstraps' own listeners trace nothing: wait for the control plane's on both sides
          await().atMost(Duration.ofSeconds(30)).until(() -> traced(web, "outbound") && traced(product, "inbound"));
          assertThat(curl(outbound, "/items/traced")).isEqualTo("200");

          // each sidecar reports its span in its own batch: wait for both
          await().atMost(Duration.ofSeconds(30)).until(() -> List.of("CLIENT", "SERVER").stream().allMatch(kind ->
              collector.spans.stream().anyMatch(s -> s.tags().getOrDefault("http.url", "").endsWith("/items/traced")
                  && s.kind().equals(kind))));
          List<Span> call = collector.spans.stream()
              .filter(s -> s.tags().getOrDefault("http.url", "").endsWith("/items/traced")).toList();
          Span client = call.stream().filter(s -> s.kind().equals("CLIENT")).findFirst()
              .orElseThrow(() -> new AssertionError("no CLIENT span in " + call));
          Span serverSpan = call.stream().filter(s -> s.kind().equals("SERVER")).findFirst().orElseThrow();
          assertThat(client.serviceName()).isEqualTo("web");
          assertThat(serverSpan.serviceName()).isEqualTo("product-service");
          assertThat(client.traceId()).hasSize(32).isEqualTo(serverSpan.traceId());
          assertThat(client.parentId()).isNull();
          assertThat(serverSpan.parentId()).isEqualTo(client.id());
          assertThat(serverSpan.shared()).isFalse();
          assertThat(client.tags()).containsEntry("http.method", "GET").containsEntry("http.status_code", "200")
              .containsEntry("upstream_cluster", "product-service");
          assertThat(serverSpan.tags()).containsEntry("upstream_cluster", "inbound|app")
              .containsEntry("guid:x-request-id", client.tags().get("guid:x-request-id"));
          assertThat(collector.reports).allSatisfy(r -> assertThat(r.host()).isEqualTo("127.0.0.1"));
        }
      } finally {
        started.stop();
      }
    }
  }

  @Test
  void bothTracingProvidersAtOnceStopTheControlPlaneWithTheFlagsNamed() {
    Result r = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1",
        "--tracing-otlp", "127.0.0.1:4317", "--tracing-zipkin", "127.0.0.1:9411");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--tracing-otlp and --tracing-zipkin: expected one tracing provider");
  }

  /** The sidecar's HTTP listener {@code name} runs the control plane's Zipkin tracing. */
  private static boolean traced(Sidecar sidecar, String name) {
    var l = sidecar.server().snapshot().listener(name);
    return l != null && l.config().http() != null && l.config().http().tracing() != null
        && l.config().http().tracing().zipkin() != null;
  }

  private static String curl(int port, String path) throws Exception {
    Process p = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
        "-H", "Host: product-service", "http://127.0.0.1:" + port + path).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
