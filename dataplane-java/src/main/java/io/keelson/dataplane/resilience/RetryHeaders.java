package io.keelson.dataplane.resilience;

import io.keelson.dataplane.config.RetryPolicy;

/**
 * Envoy's request headers that adjust a route's retry policy for one request:
 * {@code x-envoy-retry-on} adds retry_on conditions (unknown ones are ignored, as Envoy does) and
 * {@code x-envoy-max-retries} sets num_retries. Without a route policy they make one with Envoy's
 * defaults. Stateless.
 */
public final class RetryHeaders {
  public static final String RETRY_ON = "x-envoy-retry-on";
  public static final String MAX_RETRIES = "x-envoy-max-retries";
  /**
   * The tries made, the current one included (1 on the first): on each upstream request when the virtual
   * host has include_request_attempt_count, on the response with include_attempt_count_in_response.
   */
  public static final String ATTEMPT_COUNT = "x-envoy-attempt-count";
  /**
   * The retry request headers Envoy's router consumes (RetryStateImpl::create), so they never reach the upstream,
   * whether or not Keelson reads them.
   */
  public static final String[] CONSUMED = {RETRY_ON, "x-envoy-retry-grpc-on", MAX_RETRIES, "x-envoy-hedge-on-per-try-timeout",
      "x-envoy-retriable-header-names", "x-envoy-retriable-status-codes"};

  private RetryHeaders() {}

  /** The policy for this request: {@code route} as is when both headers are null. */
  public static RetryPolicy apply(RetryPolicy route, String retryOn, String maxRetries) {
    if (retryOn == null && maxRetries == null) {
      return route;
    }
    int on = route == null ? 0 : route.retryOn();
    if (retryOn != null) {
      for (String c : retryOn.split(",")) {
        on |= RetryPolicy.condition(c.strip());
      }
    }
    int num = route == null ? 1 : route.numRetries();
    if (maxRetries != null) {
      try {
        num = Math.max(0, Math.min(100, Integer.parseInt(maxRetries.strip())));
      } catch (NumberFormatException e) {
        // Envoy ignores a malformed value
      }
    }
    return route == null ? RetryPolicy.defaults(on, num) : route.withRetries(on, num);
  }
}
