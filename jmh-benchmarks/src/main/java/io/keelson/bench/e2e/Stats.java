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

  /**
   * Half the range over the median, in percent: how far runs strayed from the figure quoted (a
   * noisy machine shows here first). NaN with fewer than two values.
   */
  static double spreadPercent(Collection<Double> values) {
    double[] v = values.stream().filter(d -> d != null && !d.isNaN()).mapToDouble(Double::doubleValue).sorted().toArray();
    double median = median(values);
    if (v.length < 2 || median == 0) {
      return Double.NaN;
    }
    return 100 * (v[v.length - 1] - v[0]) / 2 / median;
  }

  /** a / b, or NaN when either is missing or b is zero. */
  static double ratio(double a, double b) {
    if (Double.isNaN(a) || Double.isNaN(b) || b == 0) {
      return Double.NaN;
    }
    return a / b;
  }
}
