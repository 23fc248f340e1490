package io.keelson.dataplane.filter;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.function.LongSupplier;

/**
 * What a filter factory may use when it compiles a filter: counters, the connection manager's
 * stat_prefix, a clock and a random source (both injectable for tests). Immutable.
 *
 * @param nanoClock monotonic nanoseconds, as {@link System#nanoTime}
 */
public record FilterResources(StatsRegistry stats, String statPrefix, LongSupplier nanoClock, FilterRandom random) {
  public static FilterResources of(StatsRegistry stats, String statPrefix) {
    return new FilterResources(stats, statPrefix, System::nanoTime, FilterRandom.DEFAULT);
  }
}
