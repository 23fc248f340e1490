package io.keelson.dataplane.resilience;

import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.config.RouteAction;
import java.time.Duration;

/**
 * Envoy's request headers that set one request's timeouts (the router's {@code FilterUtility::finalTimeout}):
 * {@code x-envoy-upstream-rq-timeout-ms} replaces the route timeout (0: none) and
 * {@code x-envoy-upstream-rq-per-try-timeout-ms} the retry policy's per-try timeout (one that is not below the
 * route timeout is ignored, as Envoy's). A value that is not a whole number of milliseconds is ignored. The router
 * removes both from the request it forwards (the caller does). Allocates only for a request that carries one.
 * Stateless.
 */
public final class TimeoutHeaders {
  public static final String UPSTREAM_RQ_TIMEOUT_MS = "x-envoy-upstream-rq-timeout-ms";
  public static final String UPSTREAM_RQ_PER_TRY_TIMEOUT_MS = "x-envoy-upstream-rq-per-try-timeout-ms";

  private TimeoutHeaders() {}

  /** {@code route} as is when neither header gives a value, else a copy with the request's timeouts. */
  public static RouteAction.Forward apply(RouteAction.Forward route, String timeoutMs, String perTryTimeoutMs) {
    long timeout = millis(timeoutMs);
    long perTry = millis(perTryTimeoutMs);
    if (timeout < 0 && perTry < 0) {
      return route;
    }
    Duration global = timeout < 0 ? route.timeout() : Duration.ofMillis(timeout);
    RetryPolicy policy = route.retryPolicy();
    if (perTry >= 0) {
      // without a route policy: one try under the per-try timeout (no retries), with Envoy's other defaults
      policy = (policy == null ? RetryPolicy.defaults(0, 0) : policy).withPerTryTimeout(Duration.ofMillis(perTry));
    }
    if (policy != null && !global.isZero() && policy.perTryTimeout().compareTo(global) >= 0) {
      policy = policy.withPerTryTimeout(Duration.ZERO);
    }
    return route.withTimeouts(global, policy);
  }

  /** A header's whole number of milliseconds (surrounding blanks allowed, as absl::SimpleAtoi), or -1. */
  static long millis(String value) {
    if (value == null) {
      return -1;
    }
    String v = value.strip();
    if (v.isEmpty() || v.length() > 18) {
      return -1;
    }
    long ms = 0;
    for (int i = v.charAt(0) == '+' ? 1 : 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      ms = ms * 10 + (c - '0');
    }
    return v.equals("+") ? -1 : ms;
  }
}
