package io.keelson.dataplane.hw;

import java.util.Locale;

/**
 * What a poller does when a poll found no work: spin, yield, or park with backoff (spins, then
 * yields, then parks growing from {@code minParkNanos} to {@code maxParkNanos}). Immutable.
 */
public record IdleProfile(Strategy strategy, int maxSpins, int maxYields, long minParkNanos, long maxParkNanos) {

  /** The idle strategies a profile may name. */
  public enum Strategy {
    SPIN,
    YIELD,
    PARK;

    static Strategy parse(String value) {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
  }

  public static IdleProfile spin() {
    return new IdleProfile(Strategy.SPIN, 0, 0, 0, 0);
  }
}
