package io.keelson.dataplane.filter.netratelimit;

import io.keelson.dataplane.filter.ConnectionGate;
import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.netty.channel.Channel;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's network local rate limit: a new connection takes a token or is closed at once, before any upstream is
 * picked, counted in {@code rate_limited}. Thread-safe (the bucket is lock-free and per process, as in Envoy).
 */
final class NetworkLocalRateLimit implements ConnectionGate {
  private final boolean enabled;
  private final TokenBucket bucket;
  private final LongAdder rateLimited;

  NetworkLocalRateLimit(boolean enabled, TokenBucket bucket, LongAdder rateLimited) {
    this.enabled = enabled;
    this.bucket = bucket;
    this.rateLimited = rateLimited;
  }

  @Override
  public boolean admit(Channel connection) {
    if (!enabled || bucket.tryAcquire()) {
      return true;
    }
    rateLimited.increment();
    connection.close();
    return false;
  }
}
