package io.keelson.dataplane.filter.extproc;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.StreamedBodyCheck;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.ByteBuf;
import io.netty.channel.DefaultEventLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ext_proc and bandwidth_limit in one chain: a body streams through one filter only, so both streaming the same
 * direction (by their own config, a mode_override ext_proc allows, or a route's override) is refused naming both, while
 * different directions load; an ext_proc that does not stream a body leaves bandwidth_limit's pacing of it on (real
 * proxy, processor and curl); a second stream of one body at run time fails the exchange closed with a 500.
 */
class ExtProcWithBandwidthLimitTest {
  private static final String BW = "envoy.filters.http.bandwidth_limit";
  private static final String STREAMED_REQUEST = "processing_mode: { request_header_mode: SEND, "
      + "response_header_mode: SKIP, request_body_mode: STREAMED }";

  @TempDir
  Path dir;

  private static String bandwidthLimit(String mode) {
    return """
        - name: envoy.filters.http.bandwidth_limit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit
            stat_prefix: bw
            enable_mode: %s
            limit_kbps: 16
        """.formatted(mode).indent(10);
  }

  private static String yaml(String vhosts, String filters) {
    return bootstrap(vhosts, cluster("a", "ROUND_ROBIN", 9) + cluster("processor", "ROUND_ROBIN", 10)
        + "    http2_protocol_options: {}\n", filters);
  }

  private static Throwable load(String vhosts, String filters) {
    return catchThrowable(() -> BootstrapLoader.fromYaml(yaml(vhosts, filters), "c.yaml"));
  }

  @Test
  void bothStreamingTheSameDirectionIsRefusedNamingBothAndDifferentDirectionsLoad() {
    // STREAMED request body and a paced request body
    Throwable t = load(ExtProcProxyTest.VHOSTS, ExtProcProxyTest.filter(STREAMED_REQUEST) + bandwidthLimit("REQUEST"));
    assertThat(t).isInstanceOf(ConfigException.class);
    assertThat(((ConfigException) t).problems()).anySatisfy(p -> assertThat(p).contains("http_filters[1]")
        .contains(BW).contains(ExtProcFilterFactory.FILTER_NAME).contains("request body"));
    // a processor allowed to switch the request body to STREAMED (allow_mode_override), bandwidth_limit first
    t = load(ExtProcProxyTest.VHOSTS, bandwidthLimit("REQUEST_AND_RESPONSE") + ExtProcProxyTest.filter(
        "processing_mode: { request_header_mode: SEND, response_header_mode: SKIP }\nallow_mode_override: true"));
    assertThat(((ConfigException) t).problems()).anySatisfy(p -> assertThat(p).contains("request body"))
        .anySatisfy(p -> assertThat(p).contains("response body"));
    // a route's overrides.processing_mode streams the response body
    String routeStreams = ExtProcProxyTest.VHOSTS.replace("processing_mode: { request_header_mode: SKIP, response_header_mode: SKIP }",
        "processing_mode: { response_body_mode: STREAMED }");
    t = load(routeStreams, ExtProcProxyTest.filter("") + bandwidthLimit("RESPONSE"));
    assertThat(((ConfigException) t).problems()).anySatisfy(p -> assertThat(p).contains("response body").contains(BW));
    // different directions; and allowed_override_modes that never stream the paced direction
    assertThat(load(ExtProcProxyTest.VHOSTS, ExtProcProxyTest.filter(STREAMED_REQUEST) + bandwidthLimit("RESPONSE")))
        .isNull();
    assertThat(load(ExtProcProxyTest.VHOSTS, ExtProcProxyTest.filter("allow_mode_override: true\n"
        + "allowed_override_modes: [{ request_body_mode: BUFFERED }]") + bandwidthLimit("REQUEST"))).isNull();
  }

  /** A 64 KiB upload at 16 KiB/s takes at least 2.5 s through ext_proc's headers-only phase placed after the limit. */
  @Test
  void aProcessorThatDoesNotStreamTheBodyLeavesItsPacingOn() throws Exception {
    byte[] payload = new byte[64 * 1024];
    new Random(5).nextBytes(payload);
    Path file = Files.write(dir.resolve("payload"), payload);
    try (TestUpstream a = new TestUpstream("a"); GrpcProcessorServer processor = new GrpcProcessorServer();
        ProxyHarness proxy = new ProxyHarness(bootstrap(ExtProcProxyTest.VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("processor", "ROUND_ROBIN", processor.port()) + "    http2_protocol_options: {}\n",
            bandwidthLimit("REQUEST") + ExtProcProxyTest.filter("message_timeout: 10s")), PipelineMode.INLINE)) {
      long start = System.nanoTime();
      assertThat(CurlStatus.of("-m", "60", "--data-binary", "@" + file, "http://127.0.0.1:" + proxy.port() + "/up"))
          .isEqualTo("200");
      assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(2_500_000_000L);
      assertThat(a.lastBody).isEqualTo(payload);
      assertThat(processor.streams).hasSize(1);
    }
  }

  @Test
  void aSecondStreamOfTheSameBodyFailsTheExchangeClosedWith500() throws Exception {
    FilterContext context = new FilterContext();
    StreamedBodyCheck first = (loop, calls, snapshot, sink) -> null;
    StreamedBodyCheck second = (loop, calls, snapshot, sink) -> null;
    assertThat(context.streamRequestBody(first)).isTrue();
    assertThat(context.streamRequestBody(second)).isFalse();
    assertThat(context.streamRequestBody(null)).isTrue(); // a clear does not undo the conflict
    StreamedBodyCheck taken = context.takeRequestBodyStream();
    assertThat(taken).isNotIn(first, second).isNotNull();
    DefaultEventLoop loop = new DefaultEventLoop();
    try {
      CompletableFuture<CheckOutcome> denied = new CompletableFuture<>();
      StreamedBodyCheck.Body body = taken.start(loop, null, null, new StreamedBodyCheck.Sink() {
        @Override
        public void forward(ByteBuf chunk, boolean last) {
          denied.completeExceptionally(new AssertionError("forwarded"));
        }

        @Override
        public void denied(CheckOutcome outcome) {
          denied.complete(outcome);
        }

        @Override
        public void pause() {
        }

        @Override
        public void resume() {
        }
      });
      ByteBuf chunk = io.netty.buffer.Unpooled.buffer().writeZero(8);
      body.offer(chunk, false, false);
      assertThat(chunk.refCnt()).as("released unread").isZero();
      CheckOutcome outcome = denied.get(10, TimeUnit.SECONDS);
      assertThat(outcome.allowed()).isFalse();
      assertThat(outcome.status()).isEqualTo(500);
    } finally {
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
