package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** W3C and B3 trace context through one and two proxy hops, with random_sampling and the parent's decision. */
class TracePropagationTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT = "00f067aa0ba902b7";

  private static String yaml(int upstreamPort, double samplingPercent) {
    return ProxyHarness.withHcm(
        ProxyHarness.bootstrap(ProxyHarness.allTo("next"), cluster("next", "ROUND_ROBIN", upstreamPort) + cluster("otel", "ROUND_ROBIN", 9)),
        ProxyHarness.otelTracing(samplingPercent, "hop"));
  }

  // The otel cluster points at a closed port (9): span exports (HTTP/2) that reached the test upstream
  // replaced its lastHeaders with the exporter's, a race that failed the traceparent checks under load.

  private static String[] traceparent(Map<String, String> headers) {
    String tp = headers.get("traceparent");
    assertThat(tp).as("traceparent upstream").isNotNull().matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
    return tp.split("-");
  }

  @Test
  void twoHopsKeepTheTraceIdAndEachHopParentsTheNext() throws Exception {
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness second = new ProxyHarness(yaml(up.port(), 0), PipelineMode.INLINE);
        ProxyHarness first = new ProxyHarness(yaml(second.port(), 0), PipelineMode.DISRUPTOR)) {
      first.get("/", "traceparent", "00-" + TRACE + "-" + PARENT + "-01", "tracestate", "vendor=abc");
      String[] seen = traceparent(up.lastHeaders);
      assertThat(seen[1]).isEqualTo(TRACE);
      assertThat(seen[2]).isNotEqualTo(PARENT);
      assertThat(seen[3]).as("the parent's sampled flag wins over random_sampling 0").isEqualTo("01");
      assertThat(up.lastHeaders).containsEntry("tracestate", "vendor=abc");

      // A single hop straight to the upstream shows the span each hop puts on its upstream request.
      try (ProxyHarness alone = new ProxyHarness(yaml(up.port(), 0), PipelineMode.INLINE)) {
        alone.get("/", "traceparent", "00-" + TRACE + "-" + PARENT + "-00");
        String[] one = traceparent(up.lastHeaders);
        assertThat(one[1]).isEqualTo(TRACE);
        assertThat(one[2]).isNotEqualTo(PARENT).isNotEqualTo(seen[2]);
        assertThat(one[3]).as("an unsampled parent stays unsampled").isEqualTo("00");
      }
    }
  }

  @Test
  void startsATraceWithRandomSamplingWhenNoneCameIn() throws Exception {
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness all = new ProxyHarness(yaml(up.port(), 100), PipelineMode.INLINE);
        ProxyHarness none = new ProxyHarness(yaml(up.port(), 0), PipelineMode.INLINE)) {
      all.get("/");
      String[] a = traceparent(up.lastHeaders);
      assertThat(a[3]).isEqualTo("01");
      all.get("/");
      assertThat(traceparent(up.lastHeaders)[1]).as("a new trace per request").isNotEqualTo(a[1]);
      none.get("/");
      assertThat(traceparent(up.lastHeaders)[3]).isEqualTo("00");
    }
  }

  @Test
  void b3SingleAndMultiHeadersAreRewrittenWithThisHopAsParent() throws Exception {
    try (TestUpstream up = new TestUpstream("up");
        ProxyHarness proxy = new ProxyHarness(yaml(up.port(), 0), PipelineMode.INLINE)) {
      proxy.get("/", "b3", TRACE + "-" + PARENT + "-1");
      String b3 = up.lastHeaders.get("b3");
      assertThat(b3).matches(TRACE + "-[0-9a-f]{16}-1-" + PARENT);
      assertThat(b3.split("-")[1]).isNotEqualTo(PARENT);
      assertThat(up.lastHeaders).doesNotContainKey("traceparent");

      proxy.get("/", "x-b3-traceid", "a3ce929d0e0e4736", "x-b3-spanid", PARENT, "x-b3-sampled", "1");
      Map<String, String> h = up.lastHeaders;
      assertThat(h.get("x-b3-traceid")).as("64-bit B3 ids pass unchanged").isEqualTo("a3ce929d0e0e4736");
      assertThat(h.get("x-b3-parentspanid")).isEqualTo(PARENT);
      assertThat(h.get("x-b3-spanid")).matches("[0-9a-f]{16}").isNotEqualTo(PARENT);
      assertThat(h.get("x-b3-sampled")).isEqualTo("1");
    }
  }
}
