package io.keelson.dataplane.resilience;

/**
 * The two timing headers Envoy's router adds unless its {@code suppress_envoy_headers} is set:
 * {@code x-envoy-expected-rq-timeout-ms} on each upstream try, and {@code x-envoy-upstream-service-time} on
 * the response forwarded from an upstream. Both count from the moment the router has the whole request
 * (Envoy's {@code downstream_request_complete_time_}, where the route timeout starts). Stateless.
 */
public final class RouterTimingHeaders {
  /** On each upstream try: the time in ms the router still allows the request (see {@link #expectedTimeoutMs}). */
  public static final String EXPECTED_RQ_TIMEOUT_MS = "x-envoy-expected-rq-timeout-ms";
  /**
   * On the forwarded response: ms from when the router had the whole request to when the upstream's response
   * head arrived (retries and their backoff included, as Envoy); absent when the response came before the
   * request ended.
   */
  public static final String UPSTREAM_SERVICE_TIME = "x-envoy-upstream-service-time";

  /** The nanoTime of a request the router does not have whole yet (no service time then). */
  public static final long INCOMPLETE = Long.MIN_VALUE;

  private RouterTimingHeaders() {}

  /** The route's per-try timeout in ms, 0 for none. */
  public static long perTryMs(io.keelson.dataplane.config.RouteAction.Forward forward) {
    return forward.retryPolicy() == null ? 0 : forward.retryPolicy().perTryTimeout().toMillis();
  }

  /**
   * Milliseconds since the router had the whole request (the value of {@link #UPSTREAM_SERVICE_TIME} when a
   * response head arrives), or -1 when it does not have it yet.
   *
   * @param requestCompleteNanos when the router had the whole request ({@link System#nanoTime()}), or {@link #INCOMPLETE}
   */
  public static long msSince(long requestCompleteNanos) {
    return requestCompleteNanos == INCOMPLETE ? -1 : (System.nanoTime() - requestCompleteNanos) / 1_000_000;
  }

  /**
   * Envoy's {@code FilterUtility::finalTimeout} and {@code setTimeoutHeaders}: the per-try timeout when one is
   * set below the route timeout (or the route timeout is infinite), else the route timeout; capped by what is
   * left of the route timeout after {@code elapsedMs} (1 when none is left: 0 would read as infinite).
   *
   * @param routeMs   the route (global) timeout, 0 for none
   * @param perTryMs  the retry policy's per-try timeout, 0 for none
   * @param elapsedMs time since the router had the whole request (0 on the first try)
   * @return the header's value, or 0 when no timeout applies (no header)
   */
  public static long expectedTimeoutMs(long routeMs, long perTryMs, long elapsedMs) {
    if (routeMs > 0 && perTryMs >= routeMs) {
      perTryMs = 0; // Envoy ignores a per-try timeout that is not below the route timeout
    }
    long expected = perTryMs > 0 ? perTryMs : routeMs;
    if (expected <= 0) {
      return 0;
    }
    if (routeMs > 0) {
      expected = elapsedMs >= routeMs ? 1 : Math.min(expected, routeMs - elapsedMs);
    }
    return expected;
  }
}
