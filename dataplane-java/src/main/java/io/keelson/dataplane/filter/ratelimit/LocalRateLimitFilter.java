package io.keelson.dataplane.filter.ratelimit;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterRandom;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.stats.ResponseFlag;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's local rate limit: one token per request from a process-wide {@link TokenBucket}; without a
 * token, an enforced request gets a local reply (429, {@code x-envoy-ratelimited: true}). Thread-safe.
 */
final class LocalRateLimitFilter implements HttpFilter {
  static final String BODY = "local_rate_limited";

  private final LocalRateLimitConfig config;
  private final TokenBucket bucket;
  private final FilterRandom random;
  private final String limitedHeaders;
  private final LongAdder enabled;
  private final LongAdder enforced;
  private final LongAdder rateLimited;
  private final LongAdder ok;

  LocalRateLimitFilter(LocalRateLimitConfig config, TokenBucket bucket, FilterRandom random, io.keelson.dataplane.stats.StatsRegistry stats) {
    this.config = config;
    this.bucket = bucket;
    this.random = random;
    this.limitedHeaders = "x-envoy-ratelimited: true\r\n" + config.responseHeaders();
    String p = config.statPrefix() + ".http_local_rate_limit.";
    this.enabled = stats.counter(p + "enabled");
    this.enforced = stats.counter(p + "enforced");
    this.rateLimited = stats.counter(p + "rate_limited");
    this.ok = stats.counter(p + "ok");
  }

  @Override
  public void onRequest(FilterContext context) {
    if (!config.enabled().sample(random)) {
      return;
    }
    enabled.increment();
    boolean allowed = bucket.tryAcquire();
    if (config.xRateLimitHeaders()) {
      context.addResponseHeaders(rateLimitHeaders());
    }
    if (allowed) {
      ok.increment();
      return;
    }
    rateLimited.increment();
    if (config.enforced().sample(random)) {
      enforced.increment();
      context.localReply(config.status(), BODY, limitedHeaders, ResponseFlag.RL);
    }
  }

  /** Envoy's draft-03 headers: the bucket size, the tokens left, and whole seconds to the next fill. */
  private String rateLimitHeaders() {
    long resetSeconds = (bucket.nanosToNextFill() + 999_999_999L) / 1_000_000_000L;
    return "x-ratelimit-limit: " + bucket.maxTokens() + "\r\nx-ratelimit-remaining: " + bucket.remaining()
        + "\r\nx-ratelimit-reset: " + resetSeconds + "\r\n";
  }
}
