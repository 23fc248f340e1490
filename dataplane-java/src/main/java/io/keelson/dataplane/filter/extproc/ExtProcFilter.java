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
    if (modes.requestBody()) {
      long limit = context.bufferLimit();
      context.bufferBody(limit > 0 ? Math.min(limit, ExtProcConfig.BUFFER_LIMIT_BYTES) : ExtProcConfig.BUFFER_LIMIT_BYTES);
      context.checkRequestBody(new BodyExchange(session, false));
    }
    if (modes.responseBody()) {
      context.checkResponseBody(new BodyExchange(session, true));
    }
    if (modes.requestStreamed()) {
      context.streamRequestBody((loop, calls, snapshot, sink) ->
          new StreamedBodyExchange(session, false, loop, calls, snapshot, sink));
    }
    if (modes.responseStreamed()) {
      context.streamResponseBody((loop, calls, snapshot, sink) ->
          new StreamedBodyExchange(session, true, loop, calls, snapshot, sink));
    }
    if (modes.requestTrailers()) {
      context.checkRequestTrailers(new TrailersExchange(session, false));
    }
    if (modes.responseTrailers()) {
      context.checkResponseTrailers(new TrailersExchange(session, true));
    }
    if (modes.requestHeaders()) {
      context.checkExternally(new RequestHeadersExchange(session));
    }
  }
}
