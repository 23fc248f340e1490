package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.random.RandomGenerator;

/**
 * Weighted round robin, nginx's smooth variant: over every cycle of (sum of weights) picks each
 * endpoint is chosen exactly its weight times, interleaved rather than in runs. Equal weights take a
 * plain rotation. Starts at a random position so that several balancers over the same cluster (one
 * per event loop) do not all send their first request to the same endpoint. See {@link LoadBalancer}
 * for threading.
 */
final class RoundRobinBalancer extends EndpointSet {
  private final long[] current;
  private final long totalWeight;
  private int next;

  RoundRobinBalancer(EndpointConfig[] endpoints, RandomGenerator random) {
    super(endpoints);
    current = new long[endpoints.length];
    long total = 0;
    for (EndpointConfig e : endpoints) {
      total += e.weight();
    }
    totalWeight = total;
    if (endpoints.length > 0) {
      int skip = random.nextInt(equalWeights ? endpoints.length : (int) Math.min(total, 1024));
      for (int i = 0; i < skip; i++) {
        pick();
      }
    }
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    if (n == 0) {
      return -1;
    }
    if (equalWeights) {
      int chosen = next;
      next = chosen + 1 == n ? 0 : chosen + 1;
      return chosen;
    }
    int best = 0;
    long bestCurrent = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      long c = current[i] + endpoints[i].weight();
      current[i] = c;
      if (c > bestCurrent) {
        bestCurrent = c;
        best = i;
      }
    }
    current[best] -= totalWeight;
    return best;
  }
}
