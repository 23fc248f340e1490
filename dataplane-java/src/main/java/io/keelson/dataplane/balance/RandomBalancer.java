package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/** Weighted random: each pick chooses an endpoint with probability weight / total. See {@link LoadBalancer} for threading. */
final class RandomBalancer extends EndpointSet {
  private final RandomGenerator random;
  /** cumulative[i] = sum of weights of endpoints 0..i. */
  private final long[] cumulative;

  RandomBalancer(EndpointConfig[] endpoints, RandomGenerator random) {
    super(endpoints);
    this.random = random;
    cumulative = new long[endpoints.length];
    long sum = 0;
    for (int i = 0; i < endpoints.length; i++) {
      sum += endpoints[i].weight();
      cumulative[i] = sum;
    }
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    if (n <= 1) {
      return n - 1;
    }
    if (equalWeights) {
      return random.nextInt(n);
    }
    long draw = random.nextLong(cumulative[n - 1]);
    // The first endpoint whose cumulative weight is above the draw.
    int i = Arrays.binarySearch(cumulative, draw + 1);
    return i >= 0 ? i : -i - 1;
  }
}
