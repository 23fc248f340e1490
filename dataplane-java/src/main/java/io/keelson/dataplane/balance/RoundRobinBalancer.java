package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.random.RandomGenerator;

/**
 * Weighted round robin, nginx's smooth variant: over every cycle of (sum of weights) picks each
 * endpoint is chosen exactly its weight times, interleaved rather than in runs. Equal weights take a
 * plain rotation; unequal weights whose sum is at most {@link #MAX_TABLE} replay one precomputed
 * cycle (constant time per pick); larger sums run the smooth algorithm live (linear in endpoints).
 * Starts at a random position so that several balancers over the same cluster (one per event loop)
 * do not all send their first request to the same endpoint. See {@link LoadBalancer} for threading.
 */
final class RoundRobinBalancer extends EndpointSet {
  /** Largest cycle kept as a table (32 KiB of ints). */
  static final int MAX_TABLE = 8192;

  private final long[] current;
  private final long totalWeight;
  /** One full smooth cycle of endpoint indices, or null (equal weights, or too long a cycle). */
  private final int[] cycle;
  private int next;

  RoundRobinBalancer(EndpointConfig[] endpoints, RandomGenerator random) {
    super(endpoints);
    current = new long[endpoints.length];
    long total = 0;
    for (EndpointConfig e : endpoints) {
      total += e.weight();
    }
    totalWeight = total;
    if (!equalWeights && total <= MAX_TABLE) {
      int[] table = new int[(int) total];
      for (int i = 0; i < table.length; i++) {
        table[i] = smoothPick();
      }
      cycle = table;
    } else {
      cycle = null;
    }
    if (endpoints.length > 0) {
      if (cycle != null || equalWeights) {
        next = random.nextInt(cycle != null ? cycle.length : endpoints.length);
      } else {
        for (int i = random.nextInt(1024); i > 0; i--) {
          smoothPick();
        }
      }
    }
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    if (n == 0) {
      return -1;
    }
    if (cycle != null) {
      int chosen = cycle[next];
      next = next + 1 == cycle.length ? 0 : next + 1;
      return chosen;
    }
    if (equalWeights) {
      int chosen = next;
      next = chosen + 1 == n ? 0 : chosen + 1;
      return chosen;
    }
    return smoothPick();
  }

  /** nginx's smooth weighted round robin step. */
  private int smoothPick() {
    int best = 0;
    long bestCurrent = Long.MIN_VALUE;
    for (int i = 0; i < endpoints.length; i++) {
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
