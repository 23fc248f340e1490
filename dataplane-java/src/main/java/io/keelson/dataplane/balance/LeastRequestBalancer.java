package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.random.RandomGenerator;

/**
 * Envoy's least request. Equal weights: power of two choices — two distinct random endpoints, the
 * one with fewer active requests wins (the first on a tie). Unequal weights: Envoy's earliest
 * deadline first schedule over the effective weight {@code weight / (active + 1)^bias} with bias 1.0,
 * recomputed for an endpoint each time it is picked. See {@link LoadBalancer} for threading.
 */
final class LeastRequestBalancer extends EndpointSet {
  private final RandomGenerator random;
  private final EdfSchedule schedule;

  LeastRequestBalancer(EndpointConfig[] endpoints, RandomGenerator random) {
    super(endpoints);
    this.random = random;
    if (equalWeights || endpoints.length < 2) {
      schedule = null;
    } else {
      double[] weights = new double[endpoints.length];
      for (int i = 0; i < weights.length; i++) {
        weights[i] = endpoints[i].weight();
      }
      schedule = new EdfSchedule(weights);
    }
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    if (n <= 1) {
      return n - 1;
    }
    if (schedule == null) {
      int a = random.nextInt(n);
      int b = a + 1 + random.nextInt(n - 1);
      if (b >= n) {
        b -= n;
      }
      return active.get(b) < active.get(a) ? b : a;
    }
    int chosen = schedule.next();
    // Envoy re-adds the picked host with its weight as of now, before this request starts.
    // A request ended twice must not give an endpoint an infinite weight.
    schedule.reschedule(chosen, endpoints[chosen].weight() / (Math.max(0, active.get(chosen)) + 1.0));
    return chosen;
  }
}
