package io.keelson.dataplane.filter.ratelimit;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Envoy's local rate limit token bucket — starts full with {@code maxTokens}; every
 * {@code fillInterval} adds {@code tokensPerFill}, up to {@code maxTokens} — as one lock-free
 * {@link AtomicLong}, so one bucket is shared by every event loop and the limit is per process, as
 * in Envoy, not per thread.
 *
 * <pre>
 *   63            32 31             0
 *  +----------------+----------------+
 *  | fill epoch     | tokens         |   epoch = (now - start) / fillInterval, low 32 bits
 *  +----------------+----------------+
 * </pre>
 *
 * Refill is lazy: the first acquire in a new interval adds the tokens of every interval passed since
 * the last one. Thread-safe (compare-and-set loop; contention costs a retry, never a block).
 */
public final class TokenBucket {
  private static final long LOW = 0xFFFF_FFFFL;

  private final long maxTokens;
  private final long tokensPerFill;
  private final long intervalNanos;
  private final LongSupplier clock;
  private final long start;
  private final AtomicLong state;

  public TokenBucket(long maxTokens, long tokensPerFill, long intervalNanos, LongSupplier nanoClock) {
    if (maxTokens < 1 || maxTokens > LOW || tokensPerFill < 1 || intervalNanos < 1) {
      throw new IllegalArgumentException("token bucket " + maxTokens + "/" + tokensPerFill + "/" + intervalNanos + "ns");
    }
    this.maxTokens = maxTokens;
    this.tokensPerFill = Math.min(tokensPerFill, maxTokens);
    this.intervalNanos = intervalNanos;
    this.clock = nanoClock;
    this.start = nanoClock.getAsLong();
    this.state = new AtomicLong(maxTokens);
  }

  /** Takes one token if there is one. */
  public boolean tryAcquire() {
    long epoch = ((clock.getAsLong() - start) / intervalNanos) & LOW;
    while (true) {
      long s = state.get();
      long tokens = refilled(s, epoch);
      if (tokens == 0) {
        return false; // empty within this interval (a new interval always brings tokens)
      }
      if (state.compareAndSet(s, (epoch << 32) | (tokens - 1))) {
        return true;
      }
    }
  }

  /** Takes up to {@code wanted} tokens (at least 1) and returns how many it took: 0 when the bucket is empty. */
  public long acquireUpTo(long wanted) {
    long epoch = ((clock.getAsLong() - start) / intervalNanos) & LOW;
    while (true) {
      long s = state.get();
      long tokens = refilled(s, epoch);
      long take = Math.min(tokens, wanted);
      if (take == 0) {
        return 0;
      }
      if (state.compareAndSet(s, (epoch << 32) | (tokens - take))) {
        return take;
      }
    }
  }

  /** Tokens left as of now (for x-ratelimit-remaining). */
  public long remaining() {
    long epoch = ((clock.getAsLong() - start) / intervalNanos) & LOW;
    return refilled(state.get(), epoch);
  }

  /** Nanoseconds until the next fill. */
  public long nanosToNextFill() {
    long elapsed = clock.getAsLong() - start;
    return intervalNanos - Math.floorMod(elapsed, intervalNanos);
  }

  public long maxTokens() {
    return maxTokens;
  }

  private long refilled(long s, long epoch) {
    long tokens = s & LOW;
    long passed = (epoch - (s >>> 32)) & LOW;
    if (passed == 0) {
      return tokens;
    }
    // Saturate before multiplying: many intervals may have passed.
    long added = passed > maxTokens / tokensPerFill ? maxTokens : passed * tokensPerFill;
    return Math.min(maxTokens, tokens + added);
  }
}
