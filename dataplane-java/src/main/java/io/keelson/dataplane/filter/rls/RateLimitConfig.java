package io.keelson.dataplane.filter.rls;

/**
 * envoy.filters.http.ratelimit, validated. Immutable.
 *
 * @param domain                  the rate limit service's domain for every request
 * @param stage                   only route rate limits of this stage apply
 * @param requestType             which requests are limited, by {@code x-envoy-internal}
 * @param timeoutNanos            the whole ShouldRateLimit call (20 ms by default, as Envoy)
 * @param failureModeDeny         a failed call answers {@code statusOnError} instead of letting the request through
 * @param cluster                 rate_limit_service.grpc_service.envoy_grpc.cluster_name
 * @param authority               the call's :authority (envoy_grpc.authority, else the cluster name)
 * @param xRateLimitHeaders       enable_x_ratelimit_headers: DRAFT_VERSION_03
 * @param rateLimitedStatus       the status of an over-limit reply (429 by default)
 * @param statusOnError           the status of a failure_mode_deny reply (500 by default)
 * @param xEnvoyRateLimitedHeader an over-limit reply carries {@code x-envoy-ratelimited: true}
 */
record RateLimitConfig(String domain, int stage, RequestType requestType, long timeoutNanos, boolean failureModeDeny,
    String cluster, String authority, boolean xRateLimitHeaders, int rateLimitedStatus, int statusOnError,
    boolean xEnvoyRateLimitedHeader) {

  /** The largest RateLimitResponse kept. */
  static final int MAX_RESPONSE_BODY_BYTES = 64 * 1024;

  /** Envoy's request_type: which requests the filter applies to. */
  enum RequestType {
    INTERNAL, EXTERNAL, BOTH;

    boolean applies(boolean internal) {
      return this == BOTH || (this == INTERNAL) == internal;
    }
  }
}
