package io.keelson.dataplane.xds;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential reconnect delay with jitter: attempt n waits a random time in [d/2, d] where
 * d = min(max, initial * 2^n), so a fleet of proxies does not reconnect in lockstep. Not thread-safe.
 */
final class Backoff {
  private final long initialNanos;
  private final long maxNanos;
  private int attempt;

  Backoff(Duration initial, Duration max) {
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
  }

  long nextDelayNanos() {
    long ceiling = attempt >= 62 || initialNanos > (maxNanos >> Math.min(attempt, 62))
        ? maxNanos
        : Math.min(maxNanos, initialNanos << attempt);
    attempt++;
    return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
  }

  void reset() {
    attempt = 0;
  }
}
