package io.keelson.dataplane.filter.ratelimit;

import io.keelson.dataplane.filter.Percent;
import java.time.Duration;

/**
 * Envoy's LocalRateLimit, as Keelson runs it. Immutable.
 *
 * @param statPrefix           stat_prefix (counters are {@code <stat_prefix>.http_local_rate_limit.*})
 * @param status               the status of a rate-limited reply (Envoy default 429)
 * @param maxTokens            token_bucket.max_tokens
 * @param tokensPerFill        token_bucket.tokens_per_fill (default 1)
 * @param fillInterval         token_bucket.fill_interval
 * @param enabled              filter_enabled.default_value (Envoy default 0%: the filter does nothing)
 * @param enforced             filter_enforced.default_value (Envoy default 0%: counts but never rejects)
 * @param responseHeaders      response_headers_to_add, as header lines added to rate-limited replies
 * @param xRateLimitHeaders    enable_x_ratelimit_headers is DRAFT_VERSION_03
 */
public record LocalRateLimitConfig(
    String statPrefix,
    int status,
    long maxTokens,
    long tokensPerFill,
    Duration fillInterval,
    Percent enabled,
    Percent enforced,
    String responseHeaders,
    boolean xRateLimitHeaders) {}
