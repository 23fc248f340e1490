package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keelson.control.demo.SampleService;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.control.sidecar.SidecarBootstrap;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.testkit.OtlpCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access logs and tracing for every call, configured only at the control plane: {@code bin/keelson control} as a real
 * process with {@code --access-log-file} (JSON) and {@code --tracing-otlp} at an in-test OTLP collector, two sidecars
 * with workload identities (mesh mTLS) joined with tokens from the CLI. Each call through both sidecars is one line on
 * each side (the caller's outbound, the destination's inbound with the caller's SPIFFE ID), a Telemetry applied with
 * {@code bin/keelson apply} turns one workload's logs off on the running proxies, and both sidecars' spans reach the
 * collector in one trace.
 */
class TelemetryEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The two services of the Telemetry end-to-end tests. */
  static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;

  @TempDir
  Path dir;

  @Test
  void everyCallIsLoggedOnBothSidesTelemetryTurnsOneWorkloadOffLiveAndSpansReachTheCollector() throws Exception {
    Path accessLog = dir.resolve("access.log");
    Path controlLog = dir.resolve("control.log");
    try (OtlpCollector collector = new OtlpCollector()) {
      TelemetryControlProcess started = TelemetryControlProcess.start(dir, accessLog, controlLog, collector.port());
      Process control = started.process();
      try {
        String server = started.server();
        int securePort = started.securePort();
        Path services = dir.resolve("services.yaml");
        Files.writeString(services, SERVICES);
        assertThat(cli("apply", "-f", services.toString(), "--server", server).code()).isZero();
        Path root = dir.resolve("root.pem");
        Files.writeString(root, cli("ca-root", "--server", server).out());

        try (SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
            Sidecar product = sidecar(server, securePort, root, "product-service", "product", app.port());
            Sidecar web = sidecar(server, securePort, root, "web", "web", 1)) {
          int outbound = web.outboundAddress().getPort();
          await().atMost(Duration.ofSeconds(20)).until(() -> status(outbound, "/warmup") == 200);
          // The bootstraps' own listeners log nothing: wait for the control plane's on both sides.
          await().atMost(Duration.ofSeconds(20)).until(() -> !logs(web, "outbound").isEmpty()
              && !logs(product, "inbound").isEmpty());

          for (int i = 0; i < 5; i++) {
            assertThat(status(outbound, "/items/call-" + i)).isEqualTo(200);
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(accessLog, "/items/call-").size() == 10);
          // Exactly one line per call on each side, with what the JSON default format promises.
          await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
              .until(() -> lines(accessLog, "/items/call-").size() == 10);
          List<JsonNode> calls = lines(accessLog, "/items/call-");
          for (int i = 0; i < 5; i++) {
            String path = "/items/call-" + i;
            List<JsonNode> sides = calls.stream().filter(l -> l.path("path").asText().equals(path)).toList();
            assertThat(sides).as(path).hasSize(2);
            JsonNode client = sides.stream().filter(l -> l.path("upstream_cluster").asText().equals("product-service"))
                .findFirst().orElseThrow(() -> new AssertionError("no outbound line for " + path + ": " + sides));
            JsonNode server2 = sides.stream().filter(l -> l.path("upstream_cluster").asText().equals("inbound|app"))
                .findFirst().orElseThrow(() -> new AssertionError("no inbound line for " + path + ": " + sides));
            for (JsonNode l : sides) {
              assertThat(l.path("method").asText()).isEqualTo("GET");
              assertThat(l.path("response_code").asText()).isEqualTo("200");
              assertThat(l.path("authority").asText()).isEqualTo("product-service");
            }
            assertThat(server2.path("downstream_peer_uri_san").asText()).as("the caller's identity over mTLS")
                .isEqualTo("spiffe://cluster.local/ns/default/sa/web");
            assertThat(client.path("request_id").asText()).as("one request id on both sides")
                .isNotEmpty().isEqualTo(server2.path("request_id").asText());
          }

          // Spans from both sidecars, the destination's in the caller's trace.
          await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            List<OtlpCollector.ReceivedSpan> spans = List.copyOf(collector.spans);
            var webTraces = spans.stream().filter(s -> "web.default".equals(s.serviceName()))
                .map(OtlpCollector.ReceivedSpan::traceId).toList();
            assertThat(spans).as("spans: %s", spans).anyMatch(s -> "product-service.default".equals(s.serviceName())
                && webTraces.contains(s.traceId()));
          });

          // A Telemetry turns web's access log off, live: the running proxy's listener is updated in place.
          Path quiet = dir.resolve("quiet.yaml");
          Files.writeString(quiet, """
              apiVersion: telemetry.istio.io/v1
              kind: Telemetry
              metadata: { name: web-quiet, namespace: default }
              spec:
                selector: { matchLabels: { app: web } }
                accessLogging: [ { disabled: true } ]
              """);
          Result applied = cli("apply", "-f", quiet.toString(), "--server", server);
          assertThat(applied.code()).as(applied.err()).isZero();
          assertThat(cli("get", "telemetry", "--server", server).out()).contains("web-quiet", "disabled: true");
          await().atMost(Duration.ofSeconds(15)).until(() -> logs(web, "outbound").isEmpty());
          assertThat(logs(product, "inbound")).as("another workload keeps its log").isNotEmpty();
          for (int i = 0; i < 3; i++) {
            assertThat(status(outbound, "/items/quiet-" + i)).isEqualTo(200);
          }
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(accessLog, "/items/quiet-").size() == 3);
          await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
              .until(() -> lines(accessLog, "/items/quiet-").size() == 3);
          assertThat(lines(accessLog, "/items/quiet-")).as("only the destination's inbound side logs")
              .allMatch(l -> l.path("upstream_cluster").asText().equals("inbound|app"));

          // An unknown provider is refused at apply, naming the field.
          Path unknown = dir.resolve("unknown.yaml");
          Files.writeString(unknown, """
              apiVersion: telemetry.istio.io/v1
              kind: Telemetry
              metadata: { name: zipkin, namespace: default }
              spec:
                tracing: [ { providers: [ { name: zipkin } ] } ]
              """);
          Result refused = cli("apply", "-f", unknown.toString(), "--server", server);
          assertThat(refused.code()).isNotZero();
          assertThat(refused.err()).contains("spec.tracing[0].providers[0].name: tracing provider 'zipkin' is not "
              + "defined; expected otel");
        }
      } finally {
        control.destroy();
        if (!control.waitFor(10, TimeUnit.SECONDS)) {
          control.destroyForcibly();
        }
      }
    }
  }

  @Test
  void badTelemetryFlagsStopTheControlPlaneWithTheFlagNamed() {
    Result r = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1",
        "--access-log-file", "/tmp/x.log", "--access-log-encoding", "XML");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--access-log-encoding 'XML': expected TEXT or JSON");
    Result format = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1",
        "--access-log-file", "/tmp/x.log", "--access-log-format", "%NOT_AN_OPERATOR%");
    assertThat(format.code()).isEqualTo(2);
    assertThat(format.err()).contains("--access-log-format: operator %NOT_AN_OPERATOR% is not supported");
  }

  /** A sidecar in namespace default (its Services') with a join token for {@code serviceAccount}, labelled app: {@code serviceAccount}. */
  static Sidecar sidecar(String server, int securePort, Path root, String service, String serviceAccount, int appPort)
      throws Exception {
    Result token = cli("token", "create", "--namespace", "default", "--service-account", serviceAccount, "--server", server);
    assertThat(token.code()).as(token.err()).isZero();
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", securePort, service, Map.of("app", serviceAccount), appPort,
        0, 0, "127.0.0.1", 0);
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
        new ControlPlaneCredentials(root, token.out().strip()));
  }

  /** The access logs of {@code sidecar}'s HTTP listener {@code name} as it runs now. */
  private static List<io.keelson.dataplane.config.AccessLogConfig> logs(Sidecar sidecar, String name) {
    var l = sidecar.server().snapshot().listener(name);
    return l == null || l.config().http() == null ? List.of() : l.config().http().accessLogs();
  }

  /** The access log's JSON lines whose path starts with {@code pathPrefix}. */
  static List<JsonNode> lines(Path log, String pathPrefix) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    if (!Files.exists(log)) {
      return out;
    }
    for (String line : Files.readAllLines(log)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode l = JSON.readTree(line);
      if (l.path("path").asText().startsWith(pathPrefix)) {
        out.add(l);
      }
    }
    return out;
  }

  private static int status(int port, String path) {
    try (RawHttp http = new RawHttp(port)) {
      return http.send("GET " + path + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read().status();
    } catch (IOException e) {
      return -1;
    }
  }


}
