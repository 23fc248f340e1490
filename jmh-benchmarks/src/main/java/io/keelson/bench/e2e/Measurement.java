package io.keelson.bench.e2e;

import java.util.Collections;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * What one load run measured: a rate (requests/s, or packets/s for the packet path), errors, and
 * latency percentiles in microseconds keyed by percentile (50.0, 99.0, 99.9, ...; empty when the
 * load generator has none). Immutable.
 */
record Measurement(double ratePerSecond, String unit, long operations, double seconds, long errors,
         String errorDetail, NavigableMap<Double, Double> latencyUs) {

  Measurement {
    latencyUs = Collections.unmodifiableNavigableMap(new TreeMap<>(latencyUs));
  }

  /** Latency at percentile {@code p} in microseconds, or NaN when not measured. */
  double latency(double p) {
    Double v = latencyUs.get(p);
    return v == null ? Double.NaN : v;
  }

  /** Errors as a fraction of everything attempted. */
  double errorRatio() {
    long attempted = operations + errors;
    return attempted == 0 ? 1.0 : (double) errors / attempted;
  }
}
