package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * How an {@link ExternalCheck} ended: the request goes on (with header changes for the upstream request, and
 * header lines {@code name: value\r\n} to add to the proxied response), or is answered locally (status, body, extra
 * header lines). Immutable.
 *
 * @param replacementBody   a {@link BodyCheck}'s new body for the request, or null to keep it
 * @param clearRouteCache   the route is chosen again with the check's headers before the request is forwarded
 *                          (ext_proc's clear_route_cache after a header mutation)
 * @param phases            the later phases the answer turns on or off (ext_proc's mode_override), or null
 */
public record CheckOutcome(boolean allowed, HeaderMutations upstreamHeaders, int status, String body,
    String replyHeaders, ResponseFlag flag, String responseHeaders, byte[] replacementBody,
    boolean clearRouteCache, PhaseChange phases) {

  /** Continue with no header changes. */
  public static final CheckOutcome ALLOW = new CheckOutcome(true, HeaderMutations.NONE, 0, null, null, ResponseFlag.NONE, null,
      null, false, null);

  public static CheckOutcome allow(HeaderMutations upstreamHeaders) {
    return allow(upstreamHeaders, null);
  }

  /** @param responseHeaders header lines to add to the proxied response, or null */
  public static CheckOutcome allow(HeaderMutations upstreamHeaders, String responseHeaders) {
    return upstreamHeaders.isEmpty() && responseHeaders == null ? ALLOW
        : new CheckOutcome(true, upstreamHeaders, 0, null, null, ResponseFlag.NONE, responseHeaders, null, false, null);
  }

  /** This allowed outcome, replacing the request body with {@code newBody}. */
  public CheckOutcome withReplacementBody(byte[] newBody) {
    return new CheckOutcome(allowed, upstreamHeaders, status, body, replyHeaders, flag, responseHeaders,
        newBody, clearRouteCache, phases);
  }

  /** This allowed outcome, with the route chosen again after its header changes. */
  public CheckOutcome withRouteCacheCleared() {
    return new CheckOutcome(allowed, upstreamHeaders, status, body, replyHeaders, flag, responseHeaders,
        replacementBody, true, phases);
  }

  /** This allowed outcome, turning later phases on or off ({@code change}: null for none). */
  public CheckOutcome withPhases(PhaseChange change) {
    return change == null ? this : new CheckOutcome(allowed, upstreamHeaders, status, body, replyHeaders, flag,
        responseHeaders, replacementBody, clearRouteCache, change);
  }

  public static CheckOutcome deny(int status, String body, String replyHeaders, ResponseFlag flag) {
    return new CheckOutcome(false, HeaderMutations.NONE, status, body, replyHeaders, flag, null, null, false, null);
  }
}
