package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.http1.codec.Http1Request;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Trace context parsing and rewriting without sockets: W3C, B3 single and multi, sampling decisions. */
class TraceContextTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT = "00f067aa0ba902b7";
  private static final TracingConfig NEVER = new TracingConfig(null, "t", 0);
  private static final TracingConfig ALWAYS = new TracingConfig(null, "t", 100);

  private final Map<String, String> upstream = new HashMap<>();

  private TraceContext propagate(TracingConfig config, String... headers) {
    Http1Request request = new Http1Request();
    for (int i = 0; i < headers.length; i += 2) {
      request.headers().add(headers[i], headers[i + 1]);
    }
    return TraceContext.propagate(request, upstream::put, config);
  }

  @Test
  void w3cParentKeepsTheTraceIdAndItsSampledFlagAndBecomesTheParent() {
    TraceContext t = propagate(NEVER, "traceparent", "00-" + TRACE + "-" + PARENT + "-01");
    assertThat(t.sampled()).isTrue();
    assertThat(t.traceId()).isEqualTo(TRACE);
    assertThat(t.parentSpanId()).isEqualTo(PARENT);
    assertThat(t.spanId()).matches("[0-9a-f]{16}").isNotEqualTo(PARENT);
    assertThat(upstream).containsOnly(Map.entry("traceparent", "00-" + TRACE + "-" + t.spanId() + "-01"));
  }

  @Test
  void w3cUnsampledFlagWinsOverRandomSampling() {
    TraceContext t = propagate(ALWAYS, "traceparent", "00-" + TRACE + "-" + PARENT + "-00");
    assertThat(t.sampled()).isFalse();
    assertThat(upstream.get("traceparent")).isEqualTo("00-" + TRACE + "-" + t.spanId() + "-00");
  }

  @Test
  void invalidTraceparentStartsANewRootTrace() {
    TraceContext t = propagate(NEVER, "traceparent", "00-" + TRACE.toUpperCase() + "-" + PARENT + "-01");
    assertThat(t.traceId()).matches("[0-9a-f]{32}").isNotEqualTo(TRACE);
    assertThat(t.parentSpanId()).isNull();
    assertThat(t.sampled()).isFalse();
    assertThat(upstream.get("traceparent")).isEqualTo("00-" + t.traceId() + "-" + t.spanId() + "-00");
  }

  @Test
  void rootSpanIdsAreNeverZero() {
    for (int i = 0; i < 1000; i++) {
      TraceContext t = propagate(ALWAYS);
      assertThat(t.sampled()).isTrue();
      assertThat(t.traceId()).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));
      assertThat(t.spanId()).isNotEqualTo("0".repeat(16));
    }
  }

  @Test
  void b3SingleWith64BitIdIsPassedOnAsItCameWithTheCallerAsParent() {
    TraceContext t = propagate(ALWAYS, "b3", "a3ce929d0e0e4736-" + PARENT + "-0");
    assertThat(t.sampled()).as("the parent's decision wins").isFalse();
    assertThat(t.traceId()).isEqualTo("0000000000000000a3ce929d0e0e4736");
    assertThat(upstream).containsOnlyKeys("b3");
    assertThat(upstream.get("b3")).isEqualTo("a3ce929d0e0e4736-" + t.spanId() + "-0-" + PARENT);
  }

  @Test
  void b3SingleWithoutSamplingFieldLeavesTheDecisionToRandomSampling() {
    TraceContext t = propagate(ALWAYS, "b3", TRACE + "-" + PARENT);
    assertThat(t.sampled()).isTrue();
    assertThat(upstream.get("b3")).isEqualTo(TRACE + "-" + t.spanId() + "-1-" + PARENT);
  }

  @Test
  void bareB3DecisionStartsATraceWithThatDecision() {
    TraceContext t = propagate(ALWAYS, "b3", "0");
    assertThat(t.sampled()).isFalse();
    assertThat(t.parentSpanId()).isNull();
    assertThat(upstream).containsOnly(Map.entry("b3", t.traceId() + "-" + t.spanId() + "-0"));
  }

  @Test
  void b3MultiHeadersAreRewrittenAndTheDebugFlagSamples() {
    TraceContext t = propagate(NEVER, "x-b3-traceid", TRACE, "x-b3-spanid", PARENT, "x-b3-flags", "1");
    assertThat(t.sampled()).isTrue();
    assertThat(upstream).containsOnly(Map.entry("x-b3-traceid", TRACE), Map.entry("x-b3-spanid", t.spanId()),
        Map.entry("x-b3-parentspanid", PARENT), Map.entry("x-b3-sampled", "1"));
  }

  @Test
  void w3cWinsOverB3ButBothAreRewritten() {
    TraceContext t = propagate(NEVER, "traceparent", "00-" + TRACE + "-" + PARENT + "-01",
        "b3", "a3ce929d0e0e4736-1111111111111111-0");
    assertThat(t.traceId()).isEqualTo(TRACE);
    assertThat(t.sampled()).isTrue();
    assertThat(upstream.get("b3")).isEqualTo(TRACE + "-" + t.spanId() + "-1-" + PARENT);
    assertThat(upstream.get("traceparent")).isEqualTo("00-" + TRACE + "-" + t.spanId() + "-01");
  }

  @Test
  void hopReusedAcrossExchangesForgetsThePreviousParent() {
    TraceContext.Hop hop = new TraceContext.Hop();
    Http1Request first = new Http1Request();
    first.headers().add("traceparent", "00-" + TRACE + "-" + PARENT + "-01");
    TraceContext.propagate(first, upstream::put, NEVER, hop);
    assertThat(hop.parentSpanId()).isEqualTo(PARENT);
    TraceContext.propagate(new Http1Request(), upstream::put, NEVER, hop);
    assertThat(hop.parentSpanId()).isNull();
    assertThat(hop.traceId()).isNotEqualTo(TRACE);
    assertThat(hop.sampled()).isFalse();
  }
}
