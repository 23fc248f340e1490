package io.keelson.dataplane.filter.ratelimit;

import io.keelson.dataplane.filter.Percent;

/**
 * Envoy's LocalRateLimit, as Keelson runs it. Immutable.
 *
 * @param statPrefix           stat_prefix (counters are {@code <stat_prefix>.http_local_rate_limit.*})
 * @param status               the status of a rate-limited reply (Envoy default 429)
 * @param bucket               token_bucket
 * @param enabled              filter_enabled.default_value (Envoy default 0%: the filter does nothing)
 * @param enforced             filter_enforced.default_value (Envoy default 0%: counts but never rejects)
 * @param responseHeaders      response_headers_to_add, as header lines added to rate-limited replies
 * @param xRateLimitHeaders    enable_x_ratelimit_headers is DRAFT_VERSION_03
 */
public record LocalRateLimitConfig(
    String statPrefix,
    int status,
    TokenBucketSpec bucket,
    Percent enabled,
    Percent enforced,
    String responseHeaders,
    boolean xRateLimitHeaders) {
  /** With the bucket given by its parts. */
  public LocalRateLimitConfig(String statPrefix, int status, long maxTokens, long tokensPerFill, java.time.Duration fillInterval,
      Percent enabled, Percent enforced, String responseHeaders, boolean xRateLimitHeaders) {
    this(statPrefix, status, new TokenBucketSpec(maxTokens, tokensPerFill, fillInterval), enabled, enforced, responseHeaders,
        xRateLimitHeaders);
  }
}
