package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;

/**
 * envoy.filters.http.ext_proc on a request: opens the request's {@link ProcessorSession} (one Process stream for all
 * its phases, ended with the exchange) and hands the connection its phases: the request-headers exchange
 * ({@link RequestHeadersExchange}) before it acts on the verdict, the response-headers one
 * ({@link ResponseHeadersExchange}) for the response head, BUFFERED bodies' ({@link BodyExchange}) once a body was
 * read whole, STREAMED bodies' ({@link StreamedBodyExchange}) chunk by chunk, and trailers' ({@link TrailersExchange}) at
 * a message's end; a phase whose mode is SKIP (or a route that disabled the filter: a null {@code processor}) has none.
 * Allocates the session and its phases per request, only when a phase is sent; thread-safe.
 */
final class ExtProcFilter implements HttpFilter {
  /** Null: nothing is sent for this route. */
  private final ProcessorStream processor;

  ExtProcFilter(ProcessorStream processor) {
    this.processor = processor;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (processor == null) {
      return;
    }
    ExtProcConfig c = processor.config;
    ProcessingModes modes = c.modes();
    if (!modes.any() && !c.mayCheckResponse()) {
      return;
    }
    ProcessorSession session = new ProcessorSession(processor);
    context.onExchangeEnd(session::end);
    if (c.mayCheckResponse()) {
      context.checkResponse(new ResponseHeadersExchange(session));
    }
    requestBodyAndTrailers(context, session, modes);
    responseBodyAndTrailers(context, session, modes);
    if (modes.requestHeaders()) {
      context.checkExternally(new RequestHeadersExchange(session));
    }
  }

  /** Sets (or clears, for a phase {@code modes} does not send) the request body's and trailers' phases. */
  static void requestBodyAndTrailers(FilterContext context, ProcessorSession session, ProcessingModes modes) {
    if (modes.requestBody()) {
      long limit = context.bufferLimit();
      context.bufferBody(limit > 0 ? Math.min(limit, ExtProcConfig.BUFFER_LIMIT_BYTES) : ExtProcConfig.BUFFER_LIMIT_BYTES);
    }
    context.checkRequestBody(modes.requestBody() ? new BodyExchange(session, false) : null);
    stream(context, session, false, !modes.requestStreamed() ? null : (loop, calls, snapshot, sink) ->
        new StreamedBodyExchange(session, false, loop, calls, snapshot, sink));
    context.checkRequestTrailers(modes.requestTrailers() ? new TrailersExchange(session, false) : null);
  }

  /**
   * Sets the body's STREAMED phase ({@code check}), or clears it (null) only where this filter may have set it: a
   * bandwidth_limit's stream of the same body is not this filter's to clear. Another filter's stream already there
   * fails the exchange closed (counted streamed_body_conflicts).
   */
  private static void stream(FilterContext context, ProcessorSession session, boolean response,
      io.keelson.dataplane.filter.StreamedBodyCheck check) {
    if (check == null && !session.filter().config.mayStream(response)) {
      return;
    }
    if (!(response ? context.streamResponseBody(check) : context.streamRequestBody(check))) {
      session.filter().stats.streamedBodyConflicts().increment();
    }
  }

  /** Sets (or clears, for a phase {@code modes} does not send) the response body's and trailers' phases. */
  static void responseBodyAndTrailers(FilterContext context, ProcessorSession session, ProcessingModes modes) {
    context.checkResponseBody(modes.responseBody() ? new BodyExchange(session, true) : null);
    stream(context, session, true, !modes.responseStreamed() ? null : (loop, calls, snapshot, sink) ->
        new StreamedBodyExchange(session, true, loop, calls, snapshot, sink));
    context.checkResponseTrailers(modes.responseTrailers() ? new TrailersExchange(session, true) : null);
  }
}
