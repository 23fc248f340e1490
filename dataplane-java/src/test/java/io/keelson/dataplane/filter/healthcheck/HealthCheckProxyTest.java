package io.keelson.dataplane.filter.healthcheck;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.health_check through a real proxy and real curl: health checks answered by the proxy with no
 * upstream, 503 from admin /healthcheck/fail until /healthcheck/ok, and pass-through mode forwarding them.
 */
class HealthCheckProxyTest {
  private static String filter(boolean passThrough) {
    return """
                - name: envoy.filters.http.health_check
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck
                    pass_through_mode: %s
                    headers:
                    - name: ":path"
                      string_match: { exact: /healthz }
      """.formatted(passThrough);
  }

  /** curl's status line and headers (-i), body dropped, for {@code args}. */
  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-m", "10", "-D", "-", "-o", "/dev/null"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return out.toLowerCase(java.util.Locale.ROOT);
  }

  private static String post(ProxyHarness proxy, String path) throws Exception {
    return curl("-X", "POST", "http://127.0.0.1:" + proxy.adminPort() + path);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void healthzIsAnsweredByTheProxyWithNoUpstreamAnd503WhileFailed(PipelineMode mode) throws Exception {
    int dead = TestUpstream.closedPort();
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", dead),
        filter(false)), mode)) {
      String url = "http://127.0.0.1:" + proxy.port();
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 200");
      assertThat(curl("--http2-prior-knowledge", url + "/healthz")).startsWith("http/2 200");
      assertThat(curl(url + "/other")).startsWith("http/1.1 503").doesNotContain("x-envoy-immediate-health-check-fail");

      assertThat(post(proxy, "/healthcheck/fail")).startsWith("http/1.1 200");
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 503");
      assertThat(curl("--http2-prior-knowledge", url + "/healthz")).startsWith("http/2 503");

      assertThat(post(proxy, "/healthcheck/ok")).startsWith("http/1.1 200");
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 200");
    }
  }

  @Test
  void passThroughForwardsHealthChecksUnlessTheServerFailsThem() throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", a.port()),
            filter(true)), PipelineMode.INLINE)) {
      String url = "http://127.0.0.1:" + proxy.port();
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 200");
      assertThat(a.requestLines).containsExactly("GET /healthz HTTP/1.1");
      assertThat(curl(url + "/api")).startsWith("http/1.1 200").doesNotContain("x-envoy-immediate-health-check-fail");
      post(proxy, "/healthcheck/fail");
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 503");
      // Other requests still go through, marked so an Envoy downstream drops this host at once.
      assertThat(curl(url + "/api")).startsWith("http/1.1 200").contains("x-envoy-immediate-health-check-fail: true");
      assertThat(a.requests.get()).isEqualTo(3);
    }
  }

  /** The 503 of a failing server carries Envoy's LH (FailedLocalHealthCheck): in %RESPONSE_FLAGS% and response_flag_filter. */
  @Test
  void theFailedHealthCheckAnswerIsFlaggedLh(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path log = dir.resolve("lh.log");
    String yaml = ProxyHarness.withHcm(bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", 1), filter(false)),
        "access_log:\n" + ProxyHarness.filteredFileLog(log, "{ response_flag_filter: { flags: [LH] } }",
            "%RESPONSE_CODE% %RESPONSE_FLAGS%\\n"));
    try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE)) {
      String url = "http://127.0.0.1:" + proxy.port();
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 200");
      post(proxy, "/healthcheck/fail");
      assertThat(curl(url + "/healthz")).startsWith("http/1.1 503");
      assertThat(curl("--http2-prior-knowledge", url + "/healthz")).startsWith("http/2 503");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> java.nio.file.Files.exists(log)
          && java.nio.file.Files.readAllLines(log).size() == 2);
      assertThat(java.nio.file.Files.readAllLines(log)).containsExactly("503 LH", "503 LH");
    }
  }

  @Test
  void theAdminEndpointsNeedPost() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", 1),
        filter(false)), PipelineMode.INLINE)) {
      assertThat(curl("http://127.0.0.1:" + proxy.adminPort() + "/healthcheck/fail")).startsWith("http/1.1 405");
      assertThat(curl("http://127.0.0.1:" + proxy.port() + "/healthz")).startsWith("http/1.1 200");
    }
  }
}
