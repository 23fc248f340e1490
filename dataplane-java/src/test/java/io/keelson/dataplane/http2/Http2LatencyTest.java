package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sequential streams on one h2c connection never wait for a timer: a flush that only a later event
 * sends, Nagle against a delayed ACK (40 ms), or a window update held back would put each request
 * at 40 ms or more. The median is asserted, so a loaded machine's occasional pauses do not fail it.
 */
class Http2LatencyTest {
  private static final int WARMUP = 100;
  private static final int MEASURED = 100;
  /** Far above a healthy round trip on loopback (well under 5 ms), below a 40 ms delayed-ACK stall. */
  private static final long MEDIAN_LIMIT_NANOS = TimeUnit.MILLISECONDS.toNanos(25);

  private TestUpstream upstream;
  private ProxyHarness proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = new TestUpstream("u1");
    proxy = new ProxyHarness(
        ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
        PipelineMode.INLINE);
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  @Test
  void sequentialGetsOnOneConnectionDoNotStallOnATimer() throws Exception {
    long median = medianNanos(() -> new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/seq"));
    assertThat(median).as("median request time (ns)").isLessThan(MEDIAN_LIMIT_NANOS);
  }

  @Test
  void sequentialPostsWithABodyOnOneConnectionDoNotStallOnATimer() throws Exception {
    long median = medianNanos(() -> new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/seq",
        Unpooled.wrappedBuffer(new byte[2_000])));
    assertThat(median).as("median request time (ns)").isLessThan(MEDIAN_LIMIT_NANOS);
  }

  private long medianNanos(Supplier<FullHttpRequest> request) throws Exception {
    long[] times = new long[MEASURED];
    try (H2Client client = new H2Client(proxy.port())) {
      for (int i = 0; i < WARMUP + MEASURED; i++) {
        long start = System.nanoTime();
        FullHttpResponse r = client.send(request.get()).get(20, TimeUnit.SECONDS);
        long took = System.nanoTime() - start;
        try {
          assertThat(r.status().code()).isEqualTo(200);
        } finally {
          r.release();
        }
        if (i >= WARMUP) {
          times[i - WARMUP] = took;
        }
      }
    }
    Arrays.sort(times);
    return times[MEASURED / 2];
  }
}
