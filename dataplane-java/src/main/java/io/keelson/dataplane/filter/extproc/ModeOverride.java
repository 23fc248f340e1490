package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.PhaseChange;

/**
 * A processor's {@code mode_override} as Envoy honours it: only with {@code allow_mode_override}, only on an answer to
 * a headers message ({@code request_headers} or {@code response_headers}; on body and trailers answers it is
 * ignored), only when {@code allowed_override_modes} is empty or lists it (every mode but {@code request_header_mode}
 * equal), and then it replaces the whole processing mode for the rest of the request (an unset header mode is SEND,
 * an unset trailer mode SKIP, as in the filter's config). The connection applies it ({@link PhaseChange}) before it
 * takes the later phases: after a {@code request_headers} answer the response headers, both bodies and both
 * trailers; after a {@code response_headers} answer the response body and trailers. Ignored (the filter's modes stay):
 * {@code BUFFERED_PARTIAL} bodies, and trailers SEND with a BUFFERED body of the same message, which Keelson does not
 * run. It turns on and off only this filter's own phases ({@link SessionPhases}): another filter's check of the
 * same phase (bandwidth_limit's paced body, a second ext_proc filter's) stays. Immutable; applied on the connection's
 * event loop.
 */
final class ModeOverride implements PhaseChange {
  private final ProcessorSession session;
  private final ProcessingModes modes;
  /** Answered a request_headers message: the request's later phases change too. */
  private final boolean fromRequest;

  private ModeOverride(ProcessorSession session, ProcessingModes modes, boolean fromRequest) {
    this.session = session;
    this.modes = modes;
    this.fromRequest = fromRequest;
  }

  /** The override {@code r} (a headers answer) asks for, or null when there is none or it does not apply. */
  static ModeOverride of(ProcessorSession session, ProcessingResponse r, boolean fromRequest) {
    ExtProcConfig c = session.filter().config;
    if (!c.allowModeOverride() || c.observability() || !r.hasModeOverride()) {
      return null;
    }
    ProcessingMode m = r.getModeOverride();
    if (!c.allowedOverrideModes().isEmpty()
        && c.allowedOverrideModes().stream().noneMatch(a -> sameBarRequestHeaders(a, m))) {
      return null;
    }
    ProcessingModes modes = ExtProcFilterFactory.runnable(m);
    return modes == null ? null : new ModeOverride(session, modes, fromRequest);
  }

  /** Envoy's allow-list match: every mode equal but request_header_mode (not applicable once it was sent). */
  private static boolean sameBarRequestHeaders(ProcessingMode a, ProcessingMode b) {
    return a.getRequestBodyMode() == b.getRequestBodyMode() && a.getRequestTrailerMode() == b.getRequestTrailerMode()
        && a.getResponseHeaderMode() == b.getResponseHeaderMode() && a.getResponseBodyMode() == b.getResponseBodyMode()
        && a.getResponseTrailerMode() == b.getResponseTrailerMode();
  }

  /** Whether the response-headers phase runs after this override. */
  boolean responseHeaders() {
    return modes.responseHeaders();
  }

  @Override
  public void apply(FilterContext policy) {
    SessionPhases phases = session.phases();
    if (fromRequest) {
      phases.responseHeaders(policy, modes.responseHeaders());
      phases.request(policy, modes);
    }
    phases.response(policy, modes);
  }
}
