package io.keelson.bench.e2e;

import java.util.Arrays;
import java.util.Collection;

/** Medians and ratios over runs; NaN in, NaN out. Stateless. */
final class Stats {
  private Stats() {
  }

  /** Median of the non-NaN values (mean of the middle two for an even count); NaN when none. */
  static double median(Collection<Double> values) {
    double[] v = values.stream().filter(d -> d != null && !d.isNaN()).mapToDouble(Double::doubleValue).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    int mid = v.length / 2;
    return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  }

  static double median(double... values) {
    return median(Arrays.stream(values).boxed().toList());
  }

  /** a / b, or NaN when either is missing or b is zero. */
  static double ratio(double a, double b) {
    if (Double.isNaN(a) || Double.isNaN(b) || b == 0) {
      return Double.NaN;
    }
    return a / b;
  }
}
