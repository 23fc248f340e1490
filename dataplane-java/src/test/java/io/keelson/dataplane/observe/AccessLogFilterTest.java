package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access-log {@code filter}s on an HTTP connection manager, through a running proxy with curl as the client: a
 * status_code_filter logging only failing requests and a CEL extension filter (istiod's) selecting one client.
 */
class AccessLogFilterTest {
  @TempDir Path dir;

  private static String log(Path file, String filter) {
    return ProxyHarness.filteredFileLog(file, filter, "%RESPONSE_CODE% %REQ(:PATH)%\\n");
  }

  private static String yaml(String logs, int upPort, int deadPort) {
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/dead" }
                        route: { cluster: dead }
                      - match: { prefix: "/" }
                        route: { cluster: up }
        """;
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(routes,
        cluster("up", "ROUND_ROBIN", upPort) + cluster("dead", "ROUND_ROBIN", deadPort)), "access_log:\n" + logs);
  }

  /** curl's status code for {@code path} with extra curl arguments. */
  private static String curl(int port, String path, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"));
    cmd.addAll(List.of(args));
    cmd.add("http://127.0.0.1:" + port + path);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor()).isZero();
    return out;
  }

  @Test
  void statusCodeFilterLogsOnlyFailuresAndCelSelectsOneClient() throws Exception {
    Path all = dir.resolve("all.log");
    Path errors = dir.resolve("errors.log");
    Path alice = dir.resolve("alice.log");
    String logs = ProxyHarness.fileAccessLog(all, "%RESPONSE_CODE% %REQ(:PATH)%\\n").replace("access_log:\n", "")
        + log(errors, "{ status_code_filter: { comparison: { op: GE, value: { default_value: 400 } } } }")
        + log(alice, """
            { extension_filter: { name: envoy.access_loggers.extension_filters.cel, typed_config: { "@type": \
            type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter, expression: \
            "request.headers['x-user'] == 'alice' && response.code < 500" } } }""");
    for (PipelineMode mode : PipelineMode.values()) {
      Files.deleteIfExists(all);
      Files.deleteIfExists(errors);
      Files.deleteIfExists(alice);
      try (TestUpstream up = new TestUpstream("up");
          ProxyHarness proxy = new ProxyHarness(yaml(logs, up.port(), TestUpstream.closedPort()), mode)) {
        int port = proxy.port();
        assertThat(curl(port, "/ok")).isEqualTo("200");
        assertThat(curl(port, "/status/404")).isEqualTo("404");
        assertThat(curl(port, "/dead")).isEqualTo("503");
        assertThat(curl(port, "/ok-alice", "-H", "x-user: alice")).isEqualTo("200");
        assertThat(curl(port, "/status/503", "-H", "x-user: alice")).isEqualTo("503");
        assertThat(curl(port, "/status/404", "-H", "x-user: bob")).isEqualTo("404");
        await().atMost(Duration.ofSeconds(10)).until(() -> lines(all).size() == 6 && lines(errors).size() == 4
            && lines(alice).size() == 1);
        assertThat(lines(errors)).as(mode.name()).containsExactly("404 /status/404", "503 /dead", "503 /status/503",
            "404 /status/404");
        assertThat(lines(alice)).as(mode.name()).containsExactly("200 /ok-alice");
      }
    }
  }

  /** not_health_check_filter leaves out what envoy.filters.http.health_check answered or passed through. */
  @Test
  void notHealthCheckFilterLeavesOutHealthChecksAnsweredOrPassedThrough() throws Exception {
    Path file = dir.resolve("nohc.log");
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: up }
        """;
    for (boolean passThrough : new boolean[] {false, true}) {
      String filters = """
                    - name: envoy.filters.http.health_check
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck
                        pass_through_mode: %s
                        headers: [ { name: ":path", string_match: { exact: /healthz } } ]
          """.formatted(passThrough);
      for (PipelineMode mode : PipelineMode.values()) {
        Files.deleteIfExists(file);
        try (TestUpstream up = new TestUpstream("up");
            ProxyHarness proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(routes,
                cluster("up", "ROUND_ROBIN", up.port()), filters),
                "access_log:\n" + log(file, "{ not_health_check_filter: {} }")), mode)) {
          int port = proxy.port();
          assertThat(curl(port, "/healthz")).isEqualTo("200");
          assertThat(curl(port, "/ok")).isEqualTo("200");
          assertThat(curl(port, "/healthz")).isEqualTo("200");
          assertThat(curl(port, "/status/404")).isEqualTo("404");
          // one writer, in request order: once the last request's line is there, every earlier one is too
          await().atMost(Duration.ofSeconds(10)).until(() -> lines(file).contains("404 /status/404"));
          assertThat(lines(file)).as(mode.name() + " pass_through " + passThrough)
              .containsExactly("200 /ok", "404 /status/404");
        }
      }
    }
  }

  private static List<String> lines(Path p) throws java.io.IOException {
    return Files.exists(p) ? Files.readAllLines(p) : List.of();
  }
}
