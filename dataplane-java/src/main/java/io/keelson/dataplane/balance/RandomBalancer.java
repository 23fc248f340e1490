package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.ArrayDeque;
import java.util.random.RandomGenerator;

/**
 * Weighted random: each pick chooses an endpoint with probability weight / total, in constant time
 * through Vose's alias table (one uniform endpoint, then a biased coin between it and its alias).
 * See {@link LoadBalancer} for threading.
 */
final class RandomBalancer extends EndpointSet {
  private final RandomGenerator random;
  /** Probability of keeping column i rather than taking alias[i]; null for equal weights. */
  private final double[] keep;
  private final int[] alias;

  RandomBalancer(EndpointConfig[] endpoints, RandomGenerator random) {
    super(endpoints);
    this.random = random;
    int n = endpoints.length;
    if (equalWeights || n < 2) {
      keep = null;
      alias = null;
      return;
    }
    keep = new double[n];
    alias = new int[n];
    long total = 0;
    for (EndpointConfig e : endpoints) {
      total += e.weight();
    }
    double[] scaled = new double[n];
    ArrayDeque<Integer> small = new ArrayDeque<>();
    ArrayDeque<Integer> large = new ArrayDeque<>();
    for (int i = 0; i < n; i++) {
      scaled[i] = (double) endpoints[i].weight() * n / total;
      (scaled[i] < 1.0 ? small : large).add(i);
    }
    while (!small.isEmpty() && !large.isEmpty()) {
      int s = small.poll();
      int l = large.poll();
      keep[s] = scaled[s];
      alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1.0;
      (scaled[l] < 1.0 ? small : large).add(l);
    }
    // What remains is 1.0 up to rounding.
    for (Integer i : large) {
      keep[i] = 1.0;
      alias[i] = i;
    }
    for (Integer i : small) {
      keep[i] = 1.0;
      alias[i] = i;
    }
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    if (n <= 1) {
      return n - 1;
    }
    int column = random.nextInt(n);
    if (keep == null) {
      return column;
    }
    return random.nextDouble() < keep[column] ? column : alias[column];
  }
}
