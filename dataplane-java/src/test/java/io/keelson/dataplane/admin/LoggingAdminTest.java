package io.keelson.dataplane.admin;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Envoy's admin /logging over real HTTP: list the loggers, change all levels or one, at run time. */
class LoggingAdminTest {
  private static final String BOOT = bootstrap("""
                  - name: mesh
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      direct_response: { status: 200 }
      """, cluster("unused", "ROUND_ROBIN", 9));
  // Held so java.util.logging (which keeps loggers weakly) cannot forget it between the calls.
  private final Logger probe = LoggerFactory.getLogger("io.keelson.test.logging.Probe");

  @AfterEach
  void restoreLevels() {
    java.util.logging.Logger.getLogger("").setLevel(Level.INFO);
    java.util.logging.Logger.getLogger("io.keelson.test.logging").setLevel(null);
    java.util.logging.Logger.getLogger("io.keelson.test.logging.Probe").setLevel(null);
  }

  private static HttpResponse<String> post(ProxyHarness proxy, String query) throws Exception {
    return proxy.client.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + proxy.adminPort() + "/logging" + query))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void listsLoggersAndSetsAllOrOneLevelAtRunTime() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(BOOT, PipelineMode.INLINE)) {
      assertThat(probe.isDebugEnabled()).isFalse();
      String listing = proxy.admin("/logging");
      assertThat(listing).startsWith("active loggers:\n").contains("  io.keelson.test.logging.Probe: info\n",
          "  root: info\n");

      HttpResponse<String> one = post(proxy, "?io.keelson.test.logging=debug");
      assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
      assertThat(probe.isDebugEnabled()).as("a package's level reaches its loggers").isTrue();
      assertThat(probe.isTraceEnabled()).isFalse();
      assertThat(one.body()).contains("  io.keelson.test.logging.Probe: debug\n", "  root: info\n");

      HttpResponse<String> all = post(proxy, "?level=trace");
      assertThat(all.statusCode()).isEqualTo(200);
      assertThat(probe.isTraceEnabled()).isTrue();
      assertThat(LoggerFactory.getLogger("io.keelson.dataplane.server.ProxyServer").isTraceEnabled()).isTrue();

      HttpResponse<String> quiet = post(proxy, "?level=warning");
      assertThat(quiet.statusCode()).isEqualTo(200);
      assertThat(probe.isInfoEnabled()).isFalse();
      assertThat(probe.isWarnEnabled()).isTrue();
      assertThat(quiet.body()).contains("  root: warning\n");
    }
  }

  @Test
  void rejectsUnknownLevelsAndChangesWithoutPost() throws Exception {
    try (ProxyHarness proxy = new ProxyHarness(BOOT, PipelineMode.INLINE)) {
      HttpResponse<String> bad = post(proxy, "?io.keelson.test.logging=loud");
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("'loud' is not a level for io.keelson.test.logging; expected one of [trace, debug,");
      assertThat(probe.isDebugEnabled()).isFalse();

      HttpResponse<String> get = proxy.client.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + proxy.adminPort() + "/logging?level=debug")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(get.statusCode()).isEqualTo(405);
      assertThat(probe.isDebugEnabled()).isFalse();
    }
  }
}
