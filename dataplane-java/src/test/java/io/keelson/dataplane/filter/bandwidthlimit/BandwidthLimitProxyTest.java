package io.keelson.dataplane.filter.bandwidthlimit;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.UploadFlood;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.bandwidth_limit through a real proxy to a real upstream, with curl over HTTP/1.1 and h2c, both
 * wirings: a 64 KiB upload and a 64 KiB download at 16 KiB/s each take at least (64 - 16) / 16 = 3 s (the bucket starts
 * with a second's worth) and arrive whole; a route whose own config disables the filter is not paced. Only lower time
 * bounds are asserted (a loaded machine is only ever slower).
 */
class BandwidthLimitProxyTest {
  private static final String[] HTTP_VERSIONS = {"--http1.1", "--http2-prior-knowledge"};
  private static final int SIZE = 64 * 1024;
  private static final long MIN_NANOS = 2_500_000_000L;
  private static final String TYPE = "\"@type\": type.googleapis.com/envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit";

  @TempDir
  Path dir;

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void bodiesArePacedToTheLimitBothWaysAndArriveWhole(PipelineMode mode) throws Exception {
    byte[] payload = new byte[SIZE];
    new Random(7).nextBytes(payload);
    Path file = Files.write(dir.resolve("payload"), payload);
    String vhosts = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/fast" }
                        route: { cluster: a }
                        typed_per_filter_config:
                          envoy.filters.http.bandwidth_limit: { %s, stat_prefix: fast, enable_mode: DISABLED, limit_kbps: 1 }
                      - match: { prefix: "/" }
                        route: { cluster: a }
        """.formatted(TYPE);
    String filters = """
                  - name: envoy.filters.http.bandwidth_limit
                    typed_config:
                      %s
                      stat_prefix: bw
                      enable_mode: REQUEST_AND_RESPONSE
                      limit_kbps: 16
                      fill_interval: 0.05s
        """.formatted(TYPE);
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(vhosts, cluster("a", "ROUND_ROBIN", a.port()), filters), mode)) {
      String base = "http://127.0.0.1:" + proxy.port();
      for (String v : HTTP_VERSIONS) {
        long start = System.nanoTime();
        assertThat(CurlStatus.of(v, "-m", "60", "--data-binary", "@" + file, base + "/up")).as(v).isEqualTo("200");
        assertThat(System.nanoTime() - start).as(v + " upload").isGreaterThanOrEqualTo(MIN_NANOS);
        assertThat(a.lastBody).as(v).isEqualTo(payload);

        start = System.nanoTime();
        assertThat(CurlStatus.output(v, "-m", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", base + "/big/" + SIZE))
            .as(v).isEqualTo("200 " + SIZE);
        assertThat(System.nanoTime() - start).as(v + " download").isGreaterThanOrEqualTo(MIN_NANOS);

        assertThat(CurlStatus.of(v, "-m", "60", "--data-binary", "@" + file, base + "/fast")).as(v).isEqualTo("200");
        assertThat(a.lastBody).as(v).isEqualTo(payload);
      }
      assertThat(proxy.stat("bw.http_bandwidth_limit.request_enabled")).isEqualTo(4);
      assertThat(proxy.stat("bw.http_bandwidth_limit.response_enabled")).isEqualTo(4);
      assertThat(proxy.stat("bw.http_bandwidth_limit.request_enforced")).isGreaterThanOrEqualTo(2);
      assertThat(proxy.stat("bw.http_bandwidth_limit.response_enforced")).isGreaterThanOrEqualTo(2);
    }
  }

  /**
   * A client writing 64 MiB as fast as it can (the head and the first MiB in one write, so the body is queued while
   * the request is routed) to a 16 KiB/s limit: the proxy stops reading it, however often the upstream's writability
   * would resume reading, so what it accepted stays within its queue and the sockets' buffers (HTTP/1.1 and h2c). The
   * HTTP/1.1 half sent all 64 MiB before the fix; the h2c half (curl sends the head before the body, so the stream is
   * not paused while it is routed) passed before it too and guards the bound.
   */
  @Test
  void aFloodingUploadIsStalledNotQueued() throws Exception {
    long total = 64L << 20;
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTE_ALL, cluster("a", "ROUND_ROBIN", a.port()),
            requestLimit(16)), PipelineMode.INLINE)) {
      try (UploadFlood flood = UploadFlood.http1(proxy.port(), "/up", total)) {
        assertThat(flood.settled()).as("HTTP/1.1 bytes the client got to send").isLessThan(8L << 20);
      }
      try (UploadFlood flood = UploadFlood.h2c(proxy.port(), "/up", total)) {
        assertThat(flood.settled()).as("h2c bytes the client got to send").isLessThan(8L << 20);
      }
      assertThat(a.bodyBytesRead.get()).isLessThan(1L << 20);
    }
  }

  /**
   * A client that leaves mid-upload (its connection reset: HTTP/1.1, then h2c) stops spending the shared bucket at
   * once, as Envoy's onDestroy drops what the filter held: the allowed bytes stop growing (its 48 KiB queue at 4 KiB/s
   * would take 12 s to drain), and the next client's upload is all that is counted after. The client sent less than
   * the queue's high water, so the proxy is still reading it and sees it go.
   */
  @Test
  void aDepartedClientStopsSpendingTheSharedBucket() throws Exception {
    byte[] next = new byte[8 * 1024];
    new Random(3).nextBytes(next);
    Path file = Files.write(dir.resolve("next"), next);
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTE_ALL, cluster("a", "ROUND_ROBIN", a.port()),
            requestLimit(4)), PipelineMode.INLINE)) {
      String allowed = "bw.http_bandwidth_limit.request_allowed_total_size";
      for (String v : HTTP_VERSIONS) {
        long before = proxy.stat(allowed);
        try (UploadFlood flood = v.equals("--http1.1") ? UploadFlood.http1(proxy.port(), "/up", 1L << 20, SENT_BEFORE_LEAVING)
            : UploadFlood.h2c(proxy.port(), "/up", SENT_BEFORE_LEAVING)) {
          await().atMost(20, TimeUnit.SECONDS).until(() -> proxy.stat(allowed) > before
              && proxy.stat("bw.http_bandwidth_limit.request_enforced") > 0);
        } // gone mid-body
        long stopped = UploadFlood.steady(v + ": the departed client's queue is dropped", () -> proxy.stat(allowed),
            Duration.ofSeconds(1), Duration.ofSeconds(8));
        assertThat(CurlStatus.of(v, "-m", "60", "--data-binary", "@" + file, "http://127.0.0.1:" + proxy.port() + "/up"))
            .as(v).isEqualTo("200");
        assertThat(a.lastBody).isEqualTo(next);
        assertThat(proxy.stat(allowed)).as(v).isEqualTo(stopped + next.length);
      }
    }
  }

  private static final long SENT_BEFORE_LEAVING = 52 * 1024;

  private static final String ROUTE_ALL = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: a }
        """;

  private static String requestLimit(int kbps) {
    return """
                  - name: envoy.filters.http.bandwidth_limit
                    typed_config: { %s, stat_prefix: bw, enable_mode: REQUEST, limit_kbps: %d }
        """.formatted(TYPE, kbps);
  }

  @Test
  void aRouteConfigWithoutALimitAndDelayTrailersAreRefusedByField() {
    String vhosts = """
                    - name: main
                      domains: ["*"]
                      typed_per_filter_config:
                        envoy.filters.http.bandwidth_limit: { %s, stat_prefix: vh, enable_mode: REQUEST }
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: a }
        """.formatted(TYPE);
    String yaml = bootstrap(vhosts, cluster("a", "ROUND_ROBIN", 9), """
                  - name: envoy.filters.http.bandwidth_limit
                    typed_config: { %s, stat_prefix: bw, enable_response_trailers: true }
        """.formatted(TYPE));
    Throwable t = catchThrowable(() -> BootstrapLoader.fromYaml(yaml, "c.yaml"));
    assertThat(t).isInstanceOf(ConfigException.class);
    assertThat(((ConfigException) t).problems())
        .anySatisfy(p -> assertThat(p).contains("typed_per_filter_config").contains(".limit_kbps").contains("required"))
        .anySatisfy(p -> assertThat(p).contains("http_filters[0].typed_config.enable_response_trailers"));
  }
}
