package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keelson.dataplane.accesslog.AccessLogService;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Envoy's access_log on the HTTP connection manager: formats, outputs, and a sink that stalls. */
class AccessLogTest {
  @TempDir Path dir;

  private static final String FORMAT =
      "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT%"
          + " %UPSTREAM_CLUSTER% %UPSTREAM_HOST% %ROUTE_NAME% %REQ(X-TEST-ID)% %RESP(X-UPSTREAM)% %DURATION%\\n";

  private static String yaml(String accessLog, int upPort, int deadPort) {
    String routes = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - name: slow-route
                        match: { prefix: "/delay" }
                        route: { cluster: up, timeout: 0.3s }
                      - name: dead-route
                        match: { prefix: "/dead" }
                        route: { cluster: dead }
                      - name: ok-route
                        match: { prefix: "/" }
                        route: { cluster: up }
        """;
    return ProxyHarness.withHcm(
        ProxyHarness.bootstrap(routes, cluster("up", "ROUND_ROBIN", upPort) + cluster("dead", "ROUND_ROBIN", deadPort)), accessLog);
  }

  /**
   * Access loggers are kept per connection manager in service only: applying N configs, each logging to a file of its
   * own, leaves one logger, one open log file and one writer thread, not N; every config's lines are written.
   */
  @Test
  void loggersAndTheirFilesAreReleasedWhenTheirConfigIsReplaced() throws Exception {
    String format = "%REQ(:PATH)%\\n";
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(ProxyHarness.fileAccessLog(dir.resolve("log-0"), format), up.port(),
            TestUpstream.closedPort()), PipelineMode.INLINE)) {
      String bound = "address: 127.0.0.1, port_value: " + proxy.port() + " }";
      assertThat(status(proxy.port(), "/r0")).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> lines(dir.resolve("log-0")).equals(List.of("/r0")));
      long writers = writerThreads();
      for (int i = 1; i <= 20; i++) {
        String next = yaml(ProxyHarness.fileAccessLog(dir.resolve("log-" + i), format), up.port(), TestUpstream.closedPort())
            .replace("address: 127.0.0.1, port_value: 0 }", bound);
        proxy.server.install(io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(next, "update-" + i));
        assertThat(status(proxy.port(), "/r" + i)).as("a new connection: the new config").isEqualTo(200);
        Path log = dir.resolve("log-" + i);
        String path = "/r" + i;
        await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).equals(List.of(path)));
      }
      assertThat(proxy.server.context().accessLoggerCount()).as("only the config in service keeps a logger").isEqualTo(1);
      await("the replaced configs' files are closed").atMost(Duration.ofSeconds(10))
          .until(() -> openFilesUnder(dir) <= 1 && proxy.server.context().accessLogService().openFiles() <= 1);
      assertThat(writerThreads()).as("one writer thread for every config").isEqualTo(writers);
      for (int i = 0; i <= 20; i++) {
        assertThat(lines(dir.resolve("log-" + i))).containsExactly("/r" + i);
      }
    }
  }

  private static int status(int port, String path) throws Exception {
    try (var c = new io.keelson.dataplane.testing.RawHttp(port)) {
      return c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").read().status();
    }
  }

  private static List<String> lines(Path log) throws java.io.IOException {
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  /** This process's open file descriptors on files under {@code dir}. */
  private static long openFilesUnder(Path dir) throws java.io.IOException {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(fd -> {
        try {
          return Files.readSymbolicLink(fd).startsWith(dir);
        } catch (java.io.IOException e) {
          return false; // closed meanwhile (the listing's own descriptor)
        }
      }).count();
    }
  }

  private static long writerThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("keelson-access-log")).count();
  }

  @Test
  void textFormatLinesForASuccessAConnectFailureAndATimeout() throws Exception {
    Path log = dir.resolve("access.log");
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(ProxyHarness.fileAccessLog(log, FORMAT), up.port(), TestUpstream.closedPort()), PipelineMode.INLINE)) {
      assertThat(proxy.get("/hello?x=1", "x-test-id", "t1").statusCode()).isEqualTo(200);
      assertThat(proxy.get("/dead", "x-test-id", "t2").statusCode()).isEqualTo(503);
      assertThat(proxy.get("/delay/2000", "x-test-id", "t3").statusCode()).isEqualTo(504);
      await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 3);
      List<String> lines = Files.readAllLines(log);
      String upHost = "127.0.0.1:" + up.port();
      assertThat(lines.get(0)).matches(
          "GET /hello\\?x=1 HTTP/1\\.1 200 - 0 [1-9][0-9]* up \\Q" + upHost + "\\E ok-route t1 up [0-9]+");
      assertThat(lines.get(1)).matches("GET /dead HTTP/1\\.1 503 UF 0 [0-9]+ dead 127\\.0\\.0\\.1:[0-9]+ dead-route t2 - [0-9]+");
      assertThat(lines.get(2)).matches("GET /delay/2000 HTTP/1\\.1 504 UT 0 [0-9]+ up \\Q" + upHost + "\\E slow-route t3 - ([0-9]+)");
      long duration = Long.parseLong(lines.get(2).substring(lines.get(2).lastIndexOf(' ') + 1));
      assertThat(duration).isBetween(250L, 2000L);
    }
  }

  @Test
  void jsonFormatToStdoutAndEnvoysDefaultFormat() throws Exception {
    Path defaultLog = dir.resolve("default.log");
    String logs = """
                  access_log:
                  - name: envoy.access_loggers.stdout
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                      log_format:
                        json_format:
                          code: "%%RESPONSE_CODE%%"
                          flags: "%%RESPONSE_FLAGS%%"
                          line: "%%REQ(:METHOD)%% %%REQ(:PATH)%%"
                          host: "%%UPSTREAM_HOST%%"
                          id: "%%REQ(X-REQUEST-ID)%%"
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: %s
        """.formatted(defaultLog);
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(logs, up.port(), TestUpstream.closedPort()), PipelineMode.DISRUPTOR)) {
      proxy.server.context().accessLogService(new AccessLogService(1024, stdout));
      assertThat(proxy.get("/a", "user-agent", "curl/8").statusCode()).isEqualTo(200);
      assertThat(proxy.get("/nothing-here-but-dead", "x-request-id", "rid-2").statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(5)).until(() -> stdout.toString(StandardCharsets.UTF_8).lines().count() == 2
          && Files.exists(defaultLog) && Files.readAllLines(defaultLog).size() == 2);
      List<String> json = stdout.toString(StandardCharsets.UTF_8).lines().toList();
      JsonNode first = new ObjectMapper().readTree(json.get(0));
      assertThat(first.get("code").isInt()).isTrue();
      assertThat(first.get("code").asInt()).isEqualTo(200);
      assertThat(first.get("flags").asText()).isEqualTo("-");
      assertThat(first.get("line").asText()).isEqualTo("GET /a");
      assertThat(first.get("host").asText()).isEqualTo("127.0.0.1:" + up.port());
      assertThat(first.get("id").asText()).isNotBlank(); // generated by the proxy
      assertThat(new ObjectMapper().readTree(json.get(1)).get("id").asText()).isEqualTo("rid-2");
      // Envoy's default: [START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS RX TX DURATION UPSTREAM-TIME "XFF" "UA" "ID" "AUTHORITY" "UPSTREAM"
      // (UPSTREAM-TIME is %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%, the router's header)
      assertThat(Files.readAllLines(defaultLog).get(0)).matches(
          "\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] \"GET /a HTTP/1\\.1\" 200 - 0 \\d+ \\d+ \\d+ \"[^\"]*\""
              + " \"curl/8\" \"[^\"]+\" \"127\\.0\\.0\\.1:\\d+\" \"127\\.0\\.0\\.1:" + up.port() + "\"");
    }
  }

  @Test
  void aStalledLogSinkNeitherSlowsRequestsNorBlocksAndDropsAreCounted() throws Exception {
    Path fifo = dir.resolve("stalled.fifo");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertThat(mk.waitFor()).isZero();
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(ProxyHarness.fileAccessLog(fifo, "%RESPONSE_CODE%\\n"), up.port(), TestUpstream.closedPort()), PipelineMode.INLINE)) {
      AccessLogService small = new AccessLogService(16);
      proxy.server.context().accessLogService(small);
      long start = System.nanoTime();
      for (int i = 0; i < 100; i++) {
        assertThat(status(proxy.port(), "/r" + i)).as("a new connection: the new config").isEqualTo(200);
      }
      long elapsedMs = (System.nanoTime() - start) / 1_000_000;
      // Nobody reads the FIFO: the writer is stuck opening it, the ring (16) fills, the rest is dropped.
      assertThat(small.dropped.sum()).isGreaterThanOrEqualTo(100 - 16 - 1);
      assertThat(small.written.sum()).isZero();
      assertThat(elapsedMs).as("100 requests with a stalled log").isLessThan(10_000);
      assertThat(proxy.admin("/stats/prometheus")).contains("keelson_access_log_dropped " + small.dropped.sum());
      // Unblock the writer so its thread ends cleanly: read what it writes, then close.
      try (InputStream in = new FileInputStream(fifo.toFile())) {
        await().atMost(Duration.ofSeconds(5)).until(() -> small.written.sum() > 0);
        in.readNBytes(in.available());
      }
      small.close();
    }
  }
}
