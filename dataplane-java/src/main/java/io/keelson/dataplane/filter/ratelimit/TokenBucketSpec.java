package io.keelson.dataplane.filter.ratelimit;

import io.keelson.dataplane.filter.ConfigErrors;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Envoy's {@code type.v3.TokenBucket}, validated as Envoy's local rate limit filters (HTTP and network) validate it.
 * Immutable.
 *
 * @param maxTokens     max_tokens (at least 1)
 * @param tokensPerFill tokens_per_fill (default 1)
 * @param fillInterval  fill_interval (at least 50 ms)
 */
public record TokenBucketSpec(long maxTokens, long tokensPerFill, Duration fillInterval) {
  /** Envoy's minimum fill_interval. */
  static final Duration MIN_FILL_INTERVAL = Duration.ofMillis(50);

  /** The spec of {@code tb} at {@code path}, or null after reporting what is out of range. */
  public static TokenBucketSpec read(io.envoyproxy.envoy.type.v3.TokenBucket tb, String path, ConfigErrors errors) {
    long max = Integer.toUnsignedLong(tb.getMaxTokens());
    long perFill = tb.hasTokensPerFill() ? Integer.toUnsignedLong(tb.getTokensPerFill().getValue()) : 1;
    Duration interval = Duration.ofSeconds(tb.getFillInterval().getSeconds(), tb.getFillInterval().getNanos());
    boolean ok = true;
    if (max < 1) {
      errors.error(path + ".max_tokens", max + " is out of range; expected at least 1");
      ok = false;
    }
    if (perFill < 1) {
      errors.error(path + ".tokens_per_fill", perFill + " is out of range; expected at least 1");
      ok = false;
    }
    if (interval.compareTo(MIN_FILL_INTERVAL) < 0) {
      errors.error(path + ".fill_interval", interval.toMillis() + "ms is too short; expected at least 50ms");
      ok = false;
    }
    return ok ? new TokenBucketSpec(max, perFill, interval) : null;
  }

  /** A new, full bucket of this spec. */
  public TokenBucket bucket(LongSupplier nanoClock) {
    return new TokenBucket(maxTokens, tokensPerFill, fillInterval.toNanos(), nanoClock);
  }
}
