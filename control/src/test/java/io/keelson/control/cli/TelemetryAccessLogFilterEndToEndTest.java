package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import io.keelson.control.demo.SampleService;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.dataplane.config.AccessLogFilterConfig;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.testkit.OtlpCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Telemetry {@code accessLogging[].filter.expression} end to end, set up as {@link TelemetryEndToEndTest}:
 * {@code bin/keelson control} as a process logging JSON to a file, two mTLS sidecars. A mesh-wide
 * {@code response.code >= 400} logs only the failing calls (a fault abort's 503 and an unknown host's 404, on the
 * caller's side) and none of the good ones on either side; a workload's {@code request.headers['x-user'] == 'alice'}
 * then selects one client's calls on that workload only; a bad expression is refused at apply with its column.
 */
class TelemetryAccessLogFilterEndToEndTest {
  private static final String CONFIG = TelemetryEndToEndTest.SERVICES + """
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product-service }
      spec:
        hosts: [ product-service ]
        http:
        - match: [ { uri: { prefix: /fail } } ]
          fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }
          route: [ { destination: { host: product-service } } ]
        - route: [ { destination: { host: product-service } } ]
      ---
      apiVersion: telemetry.istio.io/v1
      kind: Telemetry
      metadata: { name: mesh-default, namespace: istio-system }
      spec:
        accessLogging: [ { filter: { expression: "response.code >= 400" } } ]
      """;

  @TempDir
  Path dir;

  @Test
  void meshFilterLogsOnlyFailingCallsAndAWorkloadHeaderExpressionSelectsOneClient() throws Exception {
    Path accessLog = dir.resolve("access.log");
    try (OtlpCollector collector = new OtlpCollector()) {
      TelemetryControlProcess started = TelemetryControlProcess.start(dir, accessLog, dir.resolve("control.log"),
          collector.port());
      Process control = started.process();
      try {
        String server = started.server();
        Path config = dir.resolve("config.yaml");
        Files.writeString(config, CONFIG);
        Result applied = cli("apply", "-f", config.toString(), "--server", server);
        assertThat(applied.code()).as(applied.err()).isZero();
        Path root = dir.resolve("root.pem");
        Files.writeString(root, cli("ca-root", "--server", server).out());

        try (SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
            Sidecar product = TelemetryEndToEndTest.sidecar(server, started.securePort(), root, "product-service", "product", app.port());
            Sidecar web = TelemetryEndToEndTest.sidecar(server, started.securePort(), root, "web", "web", 1)) {
          int outbound = web.outboundAddress().getPort();
          await().atMost(Duration.ofSeconds(20)).until(() -> status(outbound, "/warmup", "product-service") == 200
              && cel(web, "outbound").equals("response.code >= 400")
              && cel(product, "inbound").equals("response.code >= 400"));

          for (int i = 0; i < 3; i++) {
            assertThat(status(outbound, "/items/ok-" + i, "product-service")).isEqualTo(200);
          }
          assertThat(status(outbound, "/fail-0", "product-service")).isEqualTo(503);
          assertThat(status(outbound, "/missing-0", "no-such-service")).isEqualTo(404);
          await().atMost(Duration.ofSeconds(10)).until(() -> TelemetryEndToEndTest.lines(accessLog, "/fail-").size() == 1
              && TelemetryEndToEndTest.lines(accessLog, "/missing-").size() == 1);
          assertThat(TelemetryEndToEndTest.lines(accessLog, "/fail-").getFirst().path("response_code").asText()).isEqualTo("503");
          assertThat(TelemetryEndToEndTest.lines(accessLog, "/missing-").getFirst().path("response_code").asText()).isEqualTo("404");
          await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
              .until(() -> TelemetryEndToEndTest.lines(accessLog, "/items/ok-").isEmpty() && TelemetryEndToEndTest.lines(accessLog, "/fail-").size() == 1);

          // web's own Telemetry: one client's calls, on web's side only (product keeps the mesh's filter).
          Path alice = dir.resolve("alice.yaml");
          Files.writeString(alice, """
              apiVersion: telemetry.istio.io/v1
              kind: Telemetry
              metadata: { name: web-alice, namespace: default }
              spec:
                selector: { matchLabels: { app: web } }
                accessLogging: [ { filter: { expression: "request.headers['x-user'] == 'alice'" } } ]
              """);
          Result aliceApplied = cli("apply", "-f", alice.toString(), "--server", server);
          assertThat(aliceApplied.code()).as(aliceApplied.err()).isZero();
          await().atMost(Duration.ofSeconds(15)).until(() -> cel(web, "outbound").equals("request.headers['x-user'] == 'alice'"));
          for (int i = 0; i < 2; i++) {
            assertThat(status(outbound, "/items/alice-" + i, "product-service", "x-user: alice")).isEqualTo(200);
            assertThat(status(outbound, "/items/bob-" + i, "product-service", "x-user: bob")).isEqualTo(200);
            assertThat(status(outbound, "/items/anon-" + i, "product-service")).isEqualTo(200);
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> TelemetryEndToEndTest.lines(accessLog, "/items/alice-").size() == 2);
          await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
              .until(() -> TelemetryEndToEndTest.lines(accessLog, "/items/alice-").size() == 2 && TelemetryEndToEndTest.lines(accessLog, "/items/bob-").isEmpty()
                  && TelemetryEndToEndTest.lines(accessLog, "/items/anon-").isEmpty());
          assertThat(TelemetryEndToEndTest.lines(accessLog, "/items/alice-")).as("web's outbound side only")
              .allMatch(l -> l.path("upstream_cluster").asText().equals("product-service"));

          // An expression the data plane cannot run is refused at apply, with the field and the column.
          Path bad = dir.resolve("bad.yaml");
          Files.writeString(bad, """
              apiVersion: telemetry.istio.io/v1
              kind: Telemetry
              metadata: { name: bad, namespace: default }
              spec:
                accessLogging: [ { filter: { expression: "response.code >= 400 && request.size()" } } ]
              """);
          Result refused = cli("apply", "-f", bad.toString(), "--server", server);
          assertThat(refused.code()).isNotZero();
          assertThat(refused.err()).contains("spec.accessLogging[0].filter.expression: CEL expression "
              + "'response.code >= 400 && request.size()' at column 32: method .size() is not supported");
        }
      } finally {
        control.destroy();
        if (!control.waitFor(10, TimeUnit.SECONDS)) {
          control.destroyForcibly();
        }
      }
    }
  }

  /** The CEL filter of the first access log of {@code sidecar}'s HTTP listener {@code name} as it runs now; "" for none. */
  private static String cel(Sidecar sidecar, String name) {
    var l = sidecar.server().snapshot().listener(name);
    if (l == null || l.config().http() == null || l.config().http().accessLogs().isEmpty()) {
      return "";
    }
    return l.config().http().accessLogs().getFirst().filter() instanceof AccessLogFilterConfig.Cel c ? c.expression() : "";
  }

  private static int status(int port, String path, String host, String... headers) {
    try (RawHttp http = new RawHttp(port)) {
      return http.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
          + String.join("", java.util.Arrays.stream(headers).map(h -> h + "\r\n").toList()) + "\r\n").read().status();
    } catch (IOException e) {
      return -1;
    }
  }
}
