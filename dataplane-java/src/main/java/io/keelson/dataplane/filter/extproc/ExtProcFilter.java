package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;

/**
 * envoy.filters.http.ext_proc on a request: opens the request's {@link ProcessorSession} (one Process stream for all
 * its phases, ended with the exchange) and hands the connection its phases: the request-headers exchange
 * ({@link RequestHeadersExchange}) before it acts on the verdict, the response-headers one
 * ({@link ResponseHeadersExchange}) for the response head, BUFFERED bodies' ({@link BodyExchange}) once a body was
 * read whole, STREAMED bodies' ({@link StreamedBodyExchange}) chunk by chunk, and trailers' ({@link TrailersExchange}) at
 * a message's end; a phase whose mode is SKIP (or a route that disabled the filter: a null {@code processor}) has none,
 * and leaves what another filter asked for that phase alone ({@link SessionPhases}).
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
    ProcessingModes modes = processor.config.modes();
    if (!modes.any()) {
      return;
    }
    ProcessorSession session = new ProcessorSession(processor);
    context.onExchangeEnd(session::end);
    SessionPhases phases = session.phases();
    phases.responseHeaders(context, modes.responseHeaders()); // one a mode_override turns on is asked for then
    phases.request(context, modes);
    phases.response(context, modes);
    if (modes.requestHeaders()) {
      context.checkExternally(new RequestHeadersExchange(session));
    }
  }
}
