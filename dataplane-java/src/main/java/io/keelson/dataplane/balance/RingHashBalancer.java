package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Envoy's ring hash (Ketama): each endpoint gets ring entries in proportion to its weight, at the
 * xxHash64 of {@code "host:port_i"}; a request's hash goes to the first entry at or after it (wrapping).
 * The ring has between minimum_ring_size and maximum_ring_size entries, as in Envoy. A request
 * without a hash gets a random endpoint. See {@link LoadBalancer} for threading; the ring is immutable.
 */
final class RingHashBalancer extends EndpointSet {
  private final RandomGenerator random;
  private final long[] hashes;
  private final int[] owners;

  RingHashBalancer(EndpointConfig[] endpoints, RandomGenerator random, long minRingSize, long maxRingSize) {
    super(endpoints);
    this.random = random;
    int n = endpoints.length;
    if (n == 0) {
      hashes = new long[0];
      owners = new int[0];
      return;
    }
    long total = 0;
    for (EndpointConfig e : endpoints) {
      total += e.weight();
    }
    double minWeight = Double.MAX_VALUE;
    for (EndpointConfig e : endpoints) {
      minWeight = Math.min(minWeight, (double) e.weight() / total);
    }
    // Envoy: scale so the lightest endpoint gets at least one entry, within [min, max] ring size.
    double scale = Math.min(Math.ceil(minWeight * minRingSize) / minWeight, maxRingSize);
    int size = (int) Math.ceil(scale);
    long[] h = new long[size + n];
    int[] o = new int[size + n];
    int count = 0;
    double current = 0;
    double target = 0;
    for (int i = 0; i < n; i++) {
      target += scale * endpoints[i].weight() / total;
      String prefix = endpoints[i].host() + ":" + endpoints[i].port() + "_";
      long j = 0;
      while (current < target && count < h.length) {
        h[count] = XxHash64.hash(prefix + j);
        o[count] = i;
        count++;
        j++;
        current++;
      }
    }
    // Sort by hash as unsigned (Envoy's uint64 ring): stored sign-flipped so signed order is unsigned order.
    hashes = Arrays.copyOf(h, count);
    owners = Arrays.copyOf(o, count);
    for (int k = 0; k < count; k++) {
      hashes[k] ^= Long.MIN_VALUE;
    }
    sort(hashes, owners, 0, count - 1);
  }

  /** Quicksort of parallel arrays by {@code keys} (no boxing: rings reach millions of entries). */
  private static void sort(long[] keys, int[] values, int lo, int hi) {
    while (lo < hi) {
      long pivot = keys[(lo + hi) >>> 1];
      int i = lo;
      int j = hi;
      while (i <= j) {
        while (keys[i] < pivot) {
          i++;
        }
        while (keys[j] > pivot) {
          j--;
        }
        if (i <= j) {
          long k = keys[i];
          keys[i] = keys[j];
          keys[j] = k;
          int v = values[i];
          values[i] = values[j];
          values[j] = v;
          i++;
          j--;
        }
      }
      // Recurse into the smaller side, loop on the larger: bounded stack depth.
      if (j - lo < hi - i) {
        sort(keys, values, lo, j);
        lo = i;
      } else {
        sort(keys, values, i, hi);
        hi = j;
      }
    }
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    return n == 0 ? -1 : random.nextInt(n);
  }

  @Override
  public int pick(long hash) {
    if (hashes.length == 0) {
      return -1;
    }
    long key = hash ^ Long.MIN_VALUE;
    int lo = 0;
    int hi = hashes.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (hashes[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return owners[lo == hashes.length ? 0 : lo];
  }

  int ringSize() {
    return hashes.length;
  }
}
