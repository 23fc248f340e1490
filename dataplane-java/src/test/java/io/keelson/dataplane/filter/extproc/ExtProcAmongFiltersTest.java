package io.keelson.dataplane.filter.extproc;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest.RequestCase;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ext_proc next to other filters that check the same phases, through a real proxy, real grpc-java processors
 * ({@link GrpcProcessorServer}), curl and Java's client: each filter keeps its own checks, as each filter instance has
 * its own state in Envoy. An ext_proc filter that does not send a body (or whose processor's mode_override turns it
 * off) leaves bandwidth_limit's pacing on (64 KiB at 16 KiB/s take at least 2.5 s; only lower bounds are asserted, a
 * loaded machine is only slower), and a second ext_proc filter's override leaves the first's body and response-headers
 * phases; overrides on body answers and in observability_mode are ignored.
 */
class ExtProcAmongFiltersTest {
  private static final int SIZE = 64 * 1024;
  private static final long MIN_NANOS = 2_500_000_000L;
  private static final String BANDWIDTH_LIMIT = """
                  - name: envoy.filters.http.bandwidth_limit
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit
                      stat_prefix: bw
                      enable_mode: REQUEST_AND_RESPONSE
                      limit_kbps: 16
                      fill_interval: 0.05s
        """;

  @TempDir
  Path dir;

  /**
   * bandwidth_limit, then ext_proc sending headers only: an upload is still paced, and so is a download whose
   * response_headers answer carries a mode_override with no body phase (HTTP/1.1 and h2c, curl).
   */
  @Test
  void aHeadersOnlyExtProcAndItsOverrideKeepBandwidthLimitsPacing() throws Exception {
    Path file = Files.write(dir.resolve("payload"), new byte[SIZE]);
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor, null, BANDWIDTH_LIMIT + ExtProcProxyTest.filter(
            "processing_mode: { request_header_mode: SEND, response_header_mode: SEND }\nallow_mode_override: true\n"
            // the override the processor sends (Envoy's default mode): listed, so ext_proc may not ask for STREAMED,
            // which bandwidth_limit on the same bodies would refuse
            + "allowed_override_modes: [{}]\nmessage_timeout: 10s"))) {
      String base = "http://127.0.0.1:" + proxy.port();
      for (String v : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
        long start = System.nanoTime();
        assertThat(CurlStatus.of(v, "-m", "60", "--data-binary", "@" + file, base + "/up")).as(v).isEqualTo("200");
        assertThat(System.nanoTime() - start).as(v + " upload").isGreaterThanOrEqualTo(MIN_NANOS);
        assertThat(a.lastBody).as(v).hasSize(SIZE);
        start = System.nanoTime();
        assertThat(CurlStatus.output(v, "-m", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
            "-H", "x-processor: /resp-bodies-off", base + "/big/" + SIZE)).as(v).isEqualTo("200 " + SIZE);
        assertThat(System.nanoTime() - start).as(v + " download").isGreaterThanOrEqualTo(MIN_NANOS);
      }
      assertThat(processor.streams).allSatisfy(s -> assertThat(s.phases).contains(RequestCase.RESPONSE_HEADERS));
    }
  }

  /**
   * observability_mode: a processor's mode_override (streaming both bodies, on both headers answers) is ignored, and
   * bandwidth_limit still paces the download.
   */
  @Test
  void anOverrideInObservabilityModeIsIgnored() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, processor, null, BANDWIDTH_LIMIT + ExtProcProxyTest.filter(
            "observability_mode: true\ndeferred_close_timeout: 1s\nallow_mode_override: true\n"
            + "processing_mode: { request_header_mode: SEND, response_header_mode: SEND }"))) {
      processor.headersOverride = ProcessingMode.newBuilder()
          .setRequestBodyMode(ProcessingMode.BodySendMode.STREAMED)
          .setResponseBodyMode(ProcessingMode.BodySendMode.STREAMED).build();
      long start = System.nanoTime();
      assertThat(CurlStatus.output("-m", "60", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
          "-H", "x-processor: /upper-resp-override", "http://127.0.0.1:" + proxy.port() + "/big/" + SIZE)).isEqualTo("200 " + SIZE);
      assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(MIN_NANOS);
      await().atMost(10, TimeUnit.SECONDS).until(() -> processor.streams.size() == 1
          && processor.streams.get(0).phases.size() == 2);
      assertThat(processor.streams.get(0).phases)
          .containsExactly(RequestCase.REQUEST_HEADERS, RequestCase.RESPONSE_HEADERS);
    }
  }

  /**
   * Two ext_proc filters: the first sends the BUFFERED request body and the response headers; the second sends request
   * headers only and its processor's mode_override says so again (no body, no response headers). The first's body is
   * still replaced by its processor and its response-headers phase still runs; the first processor's override on its
   * body answer (response headers SKIP) is ignored, as Envoy ignores overrides on body and trailers answers.
   */
  /** The one override the processors send; listing it keeps STREAMED out (two filters may not both stream a body). */
  private static final String SKIP_RESPONSE_HEADERS_ONLY = "allowed_override_modes: [{ response_header_mode: SKIP }]\n";

  @Test
  void aSecondExtProcsOverrideLeavesTheFirstsPhases() throws Exception {
    ProcessingMode responseHeadersOff = ProcessingMode.newBuilder()
        .setResponseHeaderMode(ProcessingMode.HeaderSendMode.SKIP).build();
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer first = new GrpcProcessorServer();
        GrpcProcessorServer second = new GrpcProcessorServer();
        ProxyHarness proxy = proxy(a, first, second, ExtProcProxyTest.filter(
            "processing_mode: { request_header_mode: SEND, response_header_mode: SEND, request_body_mode: BUFFERED }\n"
            + "allow_mode_override: true\n" + SKIP_RESPONSE_HEADERS_ONLY + "message_timeout: 10s") + ExtProcProxyTest.filter(
            "allow_mode_override: true\n" + SKIP_RESPONSE_HEADERS_ONLY + "message_timeout: 10s")
            .replace("name: envoy.filters.http.ext_proc", "name: second.ext_proc")
            .replace("cluster_name: processor ", "cluster_name: processor2 "))) {
      first.laterOverride = responseHeadersOff;
      second.headersOverride = responseHeadersOff;
      HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(proxy.uri("/body-replace/h1"))
          .POST(HttpRequest.BodyPublishers.ofString("original body")));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-processed")).hasValue("processor"); // the first's response-headers answer
      assertThat(a.lastBody).asString().isEqualTo("replaced by processor");
      assertThat(CurlStatus.output("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
          "--data-binary", "an h2 body", "http://127.0.0.1:" + proxy.port() + "/body-replace/h2")).isEqualTo("200");
      assertThat(a.lastBody).asString().isEqualTo("replaced by processor");
      await().atMost(10, TimeUnit.SECONDS).until(() -> first.streams.size() == 2 && second.streams.size() == 2);
      assertThat(first.streams).allSatisfy(s -> assertThat(s.phases).containsExactly(RequestCase.REQUEST_HEADERS,
          RequestCase.REQUEST_BODY, RequestCase.RESPONSE_HEADERS));
      assertThat(second.streams).allSatisfy(s -> assertThat(s.phases).containsExactly(RequestCase.REQUEST_HEADERS));
    }
  }

  /** A proxy with {@code filters} routing to {@code a}, with the processor clusters (the second when not null). */
  private static ProxyHarness proxy(TestUpstream a, GrpcProcessorServer processor, GrpcProcessorServer second,
      String filters) throws Exception {
    String clusters = cluster("a", "ROUND_ROBIN", a.port())
        + cluster("processor", "ROUND_ROBIN", processor.port()) + "    http2_protocol_options: {}\n"
        + (second == null ? "" : cluster("processor2", "ROUND_ROBIN", second.port()) + "    http2_protocol_options: {}\n");
    return new ProxyHarness(bootstrap(ExtProcProxyTest.VHOSTS, clusters, filters), PipelineMode.INLINE);
  }
}
