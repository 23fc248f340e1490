package io.keelson.dataplane.filter;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.function.LongSupplier;

/**
 * What a filter factory may use when it compiles a filter: counters, the connection manager's
 * stat_prefix, a clock and a random source (both injectable for tests), and whose filter it compiles. Immutable.
 *
 * @param nanoClock monotonic nanoseconds, as {@link System#nanoTime}
 * @param owner     where the compiled filter sits, the same from one served snapshot to the next (the listener's name,
 *                  the filter's name, and for a route's override its virtual host and route): state that must outlive a
 *                  config push (bandwidth_limit's buckets) is kept under it; "" when unknown
 */
public record FilterResources(StatsRegistry stats, String statPrefix, LongSupplier nanoClock, FilterRandom random,
    String owner) {
  public FilterResources(StatsRegistry stats, String statPrefix, LongSupplier nanoClock, FilterRandom random) {
    this(stats, statPrefix, nanoClock, random, "");
  }

  public static FilterResources of(StatsRegistry stats, String statPrefix) {
    return of(stats, statPrefix, "");
  }

  /** @param listener the listener (or chain) name the connection manager serves under */
  public static FilterResources of(StatsRegistry stats, String statPrefix, String listener) {
    return new FilterResources(stats, statPrefix, System::nanoTime, FilterRandom.DEFAULT, listener);
  }

  /** These resources for what sits at {@code place} inside the owner (a filter, a route's override of it). */
  public FilterResources at(String place) {
    return new FilterResources(stats, statPrefix, nanoClock, random, owner + "/" + place);
  }
}
