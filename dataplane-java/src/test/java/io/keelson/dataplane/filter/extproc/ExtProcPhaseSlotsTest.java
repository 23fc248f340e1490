package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.BodyCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.StreamedBodyCheck;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * The phase checks an ext_proc filter leaves in a {@link FilterContext}, which holds one per phase for every filter:
 * it sets only the phases its mode sends, and a processor's mode_override turns off only the filter's own, as each
 * filter instance has its own state in Envoy (bandwidth_limit's paced bodies and another ext_proc filter's checks
 * stay).
 */
class ExtProcPhaseSlotsTest {
  private static final ProcessingModes HEADERS_ONLY =
      new ProcessingModes(true, false, false, false, false, false, false, false);
  private static final ProcessingModes BUFFERED_BODIES =
      new ProcessingModes(true, true, true, true, false, false, false, false);
  /** What bandwidth_limit sets on both directions. */
  private static final StreamedBodyCheck PACED = (loop, calls, snapshot, sink) -> null;

  @Test
  void aHeadersOnlyFilterLeavesAnEarlierFiltersPacedBodies() {
    FilterContext c = new FilterContext();
    c.streamRequestBody(PACED);
    c.streamResponseBody(PACED);
    new ExtProcFilter(stream(HEADERS_ONLY, false)).onRequest(c);
    assertThat(c.takeRequestBodyStream()).isSameAs(PACED);
    assertThat(c.takeResponseBodyStream()).isSameAs(PACED);
    assertThat(c.externalCheck()).isInstanceOf(RequestHeadersExchange.class);
  }

  /** The second filter's override turning bodies and response headers off leaves the first filter's checks. */
  @Test
  void aSecondFiltersOverrideLeavesTheFirstFiltersChecks() {
    FilterContext c = new FilterContext();
    c.streamResponseBody(PACED);
    new ExtProcFilter(stream(BUFFERED_BODIES, false)).onRequest(c);
    ProcessorStream second = stream(HEADERS_ONLY, true);
    new ExtProcFilter(second).onRequest(c);
    override(new ProcessorSession(second), ProcessingMode.newBuilder()
        .setResponseHeaderMode(ProcessingMode.HeaderSendMode.SKIP).build(), true).apply(c);
    assertThat(c.takeRequestBodyCheck()).isInstanceOf(BodyExchange.class);
    assertThat(c.takeResponseBodyCheck()).isInstanceOf(BodyExchange.class);
    assertThat(c.takeResponseCheck()).isInstanceOf(ResponseHeadersExchange.class);
    assertThat(c.takeResponseBodyStream()).isSameAs(PACED);
  }

  /**
   * An override turns the filter's own phases on once (keeping one changes nothing) and off again, never another
   * filter's: a response_headers answer's override withdraws the STREAMED response body a request_headers one asked for.
   */
  @Test
  void anOverrideTurnsOnlyItsOwnPhasesOnAndOff() {
    FilterContext c = new FilterContext();
    BodyCheck others = new BodyCheck() { // another filter's check of the request body
      @Override
      public io.keelson.dataplane.http2.UpstreamCalls.Call start(io.keelson.dataplane.filter.CheckedBody body,
          java.util.function.Consumer<io.keelson.dataplane.filter.CheckOutcome> done) {
        return null;
      }

      @Override
      public long maxBytes() {
        return 0;
      }
    };
    c.checkRequestBody(others);
    ProcessorSession session = new ProcessorSession(stream(HEADERS_ONLY, true));
    ProcessingMode streamed = ProcessingMode.newBuilder().setResponseHeaderMode(ProcessingMode.HeaderSendMode.SKIP)
        .setResponseBodyMode(ProcessingMode.BodySendMode.STREAMED).build();
    override(session, streamed, true).apply(c);
    c.checkRequestBody(others);
    override(session, ProcessingMode.getDefaultInstance(), false).apply(c); // drops the response body
    assertThat(c.takeResponseBodyStream()).isNull();
    assertThat(c.takeRequestBodyCheck()).isSameAs(others);

    override(session, streamed, true).apply(c);
    StreamedBodyCheck mine = c.takeResponseBodyStream();
    assertThat(mine).isNotNull();
    c.streamResponseBody(mine);
    override(session, streamed, false).apply(c); // keeps it: the same check, not a second one
    assertThat(c.takeResponseBodyStream()).isSameAs(mine);
    c.streamResponseBody(PACED);
    override(session, ProcessingMode.getDefaultInstance(), false).apply(c);
    assertThat(c.takeResponseBodyStream()).as("another filter's check set since").isSameAs(PACED);
  }

  @Test
  void anOverrideInObservabilityModeIsIgnored() {
    ProcessorSession observed = new ProcessorSession(new ProcessorStream(config(HEADERS_ONLY, true, true), stats()));
    ProcessingResponse r = ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.getDefaultInstance())
        .setModeOverride(ProcessingMode.getDefaultInstance()).build();
    assertThat(ModeOverride.of(observed, r, true)).isNull();
  }

  private static ModeOverride override(ProcessorSession s, ProcessingMode m, boolean fromRequest) {
    ProcessingResponse.Builder r = ProcessingResponse.newBuilder().setModeOverride(m);
    if (fromRequest) {
      r.setRequestHeaders(HeadersResponse.getDefaultInstance());
    } else {
      r.setResponseHeaders(HeadersResponse.getDefaultInstance());
    }
    ModeOverride o = ModeOverride.of(s, r.build(), fromRequest);
    assertThat(o).isNotNull();
    return o;
  }

  private static ProcessorStream stream(ProcessingModes modes, boolean allowModeOverride) {
    return new ProcessorStream(config(modes, allowModeOverride, false), stats());
  }

  private static ExtProcConfig config(ProcessingModes modes, boolean allowModeOverride, boolean observability) {
    return new ExtProcConfig("processor", "processor", 200_000_000L, 200_000_000L, false, modes, allowModeOverride,
        List.of(), "", 0, observability, ExtProcConfig.DEFAULT_DEFERRED_CLOSE_NANOS,
        ExternalProcessor.RouteCacheAction.DEFAULT);
  }

  private static ExtProcStats stats() {
    return new ExtProcStats(new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(),
        new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder(),
        new LongAdder(), new LongAdder(), new LongAdder());
  }
}
