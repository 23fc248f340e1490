package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * How an {@link ExternalCheck} ended: the request goes on (with header changes for the upstream request),
 * or is answered locally (status, body, extra header lines {@code name: value\r\n}). Immutable.
 */
public record CheckOutcome(boolean allowed, HeaderMutations upstreamHeaders, int status, String body,
    String replyHeaders, ResponseFlag flag) {

  /** Continue with no header changes. */
  public static final CheckOutcome ALLOW = new CheckOutcome(true, HeaderMutations.NONE, 0, null, null, ResponseFlag.NONE);

  public static CheckOutcome allow(HeaderMutations upstreamHeaders) {
    return upstreamHeaders.isEmpty() ? ALLOW : new CheckOutcome(true, upstreamHeaders, 0, null, null, ResponseFlag.NONE);
  }

  public static CheckOutcome deny(int status, String body, String replyHeaders, ResponseFlag flag) {
    return new CheckOutcome(false, HeaderMutations.NONE, status, body, replyHeaders, flag);
  }
}
