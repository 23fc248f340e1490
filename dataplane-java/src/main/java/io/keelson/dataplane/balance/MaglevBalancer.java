package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.util.random.RandomGenerator;

/**
 * Maglev on the socket path, over the packet path's {@link MaglevTable}: each endpoint's permutation
 * comes from the xxHash64 of {@code "host:port"}, so an endpoint claims the same entries in every
 * build, and entries are shared in proportion to weight. A request without a hash gets a random
 * endpoint. See {@link LoadBalancer} for threading; the table is immutable.
 */
final class MaglevBalancer extends EndpointSet {
  private final RandomGenerator random;
  private final MaglevTable table;

  MaglevBalancer(EndpointConfig[] endpoints, RandomGenerator random, int tableSize) {
    super(endpoints);
    this.random = random;
    long[] keys = new long[endpoints.length];
    int[] weights = new int[endpoints.length];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = XxHash64.hash(endpoints[i].host() + ":" + endpoints[i].port());
      weights[i] = endpoints[i].weight();
    }
    table = MaglevTable.build(keys, weights, tableSize);
  }

  @Override
  public int pick() {
    int n = endpoints.length;
    return n == 0 ? -1 : random.nextInt(n);
  }

  @Override
  public int pick(long hash) {
    return endpoints.length == 0 ? -1 : table.lookup(hash);
  }
}
