package io.keelson.dataplane.filter;

/**
 * Envoy's FractionalPercent: {@code numerator} out of {@code denominator} (100, 10 000 or 1 000 000).
 * Immutable.
 */
public record Percent(long numerator, int denominator) {
  public static final Percent ALL = new Percent(100, 100);
  public static final Percent NONE = new Percent(0, 100);

  /** True for a share {@code numerator / denominator} of calls (never above 100%). */
  public boolean sample(FilterRandom random) {
    if (numerator <= 0) {
      return false;
    }
    return numerator >= denominator || random.nextInt(denominator) < numerator;
  }

  /** The same denominator with another numerator (Envoy's header-controlled percentages). */
  public Percent withNumerator(long n) {
    return new Percent(n, denominator);
  }
}
