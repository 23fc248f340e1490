package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.StreamedBodyCheck;

/**
 * The phase checks one request's ext_proc filter ({@link ProcessorSession}) asked the connection for, so that it sets
 * only the phases its mode sends and withdraws only its own ({@link FilterContext#withdraw}): the context holds one
 * check per phase, shared with other filters (bandwidth_limit's paced bodies, a second ext_proc filter), each of which
 * has its own in Envoy. A phase already asked for is not asked again (a mode_override keeping it changes nothing).
 * Allocates a phase's check only when it is turned on. Not thread-safe: the filter's chain, then the connection's
 * event loop.
 */
final class SessionPhases {
  private final ProcessorSession session;
  private ResponseHeadersExchange responseHeaders;
  private BodyExchange requestBody;
  private BodyExchange responseBody;
  private StreamedBodyCheck requestStream;
  private StreamedBodyCheck responseStream;
  private TrailersExchange requestTrailers;
  private TrailersExchange responseTrailers;

  SessionPhases(ProcessorSession session) {
    this.session = session;
  }

  /** Asks for (or withdraws) the response-headers phase. */
  void responseHeaders(FilterContext context, boolean on) {
    if (on && responseHeaders == null) {
      context.checkResponse(responseHeaders = new ResponseHeadersExchange(session));
    } else if (!on) {
      responseHeaders = withdrawn(context, responseHeaders);
    }
  }

  /** Asks for (or withdraws) the request body's and trailers' phases {@code modes} sends (or does not). */
  void request(FilterContext context, ProcessingModes modes) {
    if (modes.requestBody() && requestBody == null) {
      long limit = context.bufferLimit();
      context.bufferBody(limit > 0 ? Math.min(limit, ExtProcConfig.BUFFER_LIMIT_BYTES) : ExtProcConfig.BUFFER_LIMIT_BYTES);
      context.checkRequestBody(requestBody = new BodyExchange(session, false));
    } else if (!modes.requestBody()) {
      requestBody = withdrawn(context, requestBody);
    }
    if (modes.requestStreamed() && requestStream == null) {
      ProcessorSession s = session;
      if (!context.streamRequestBody(requestStream = (loop, calls, snapshot, sink) ->
          new StreamedBodyExchange(s, false, loop, calls, snapshot, sink))) {
        conflicted();
      }
    } else if (!modes.requestStreamed()) {
      requestStream = withdrawn(context, requestStream);
    }
    if (modes.requestTrailers() && requestTrailers == null) {
      context.checkRequestTrailers(requestTrailers = new TrailersExchange(session, false));
    } else if (!modes.requestTrailers()) {
      requestTrailers = withdrawn(context, requestTrailers);
    }
  }

  /** Asks for (or withdraws) the response body's and trailers' phases {@code modes} sends (or does not). */
  void response(FilterContext context, ProcessingModes modes) {
    if (modes.responseBody() && responseBody == null) {
      context.checkResponseBody(responseBody = new BodyExchange(session, true));
    } else if (!modes.responseBody()) {
      responseBody = withdrawn(context, responseBody);
    }
    if (modes.responseStreamed() && responseStream == null) {
      ProcessorSession s = session;
      if (!context.streamResponseBody(responseStream = (loop, calls, snapshot, sink) ->
          new StreamedBodyExchange(s, true, loop, calls, snapshot, sink))) {
        conflicted();
      }
    } else if (!modes.responseStreamed()) {
      responseStream = withdrawn(context, responseStream);
    }
    if (modes.responseTrailers() && responseTrailers == null) {
      context.checkResponseTrailers(responseTrailers = new TrailersExchange(session, true));
    } else if (!modes.responseTrailers()) {
      responseTrailers = withdrawn(context, responseTrailers);
    }
  }

  /** Another filter already streams this body: the context fails the exchange closed; counted here. */
  private void conflicted() {
    session.filter().stats.streamedBodyConflicts().increment();
  }

  /** Withdraws {@code mine} (when this session asked for it) and returns null: the phase is off. */
  private static <T> T withdrawn(FilterContext context, T mine) {
    if (mine != null) {
      context.withdraw(mine);
    }
    return null;
  }
}
