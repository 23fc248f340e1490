package io.keelson.dataplane.gateway;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@link GatewayCounter}s per DPDK port. Each slot has one writer (RX counters the poller, TX counters
 * the transmit stage), which adds with a release store, so no locked instruction is on the hot path;
 * readers (stats, admin) see a recent value.
 *
 * <p>Threading: one writer per (port, counter); any reader.
 */
public final class PortCounters {
  private static final GatewayCounter[] COUNTERS = GatewayCounter.values();
  private final AtomicLongArray values;
  private final int ports;

  public PortCounters(int ports) {
    this.ports = ports;
    this.values = new AtomicLongArray(ports * COUNTERS.length);
  }

  void add(int port, GatewayCounter counter, long delta) {
    int i = port * COUNTERS.length + counter.ordinal();
    values.setRelease(i, values.getPlain(i) + delta);
  }

  public long get(int port, GatewayCounter counter) {
    return values.getAcquire(port * COUNTERS.length + counter.ordinal());
  }

  /** Sum over every port. */
  public long total(GatewayCounter counter) {
    long sum = 0;
    for (int p = 0; p < ports; p++) {
      sum += get(p, counter);
    }
    return sum;
  }

  public int ports() {
    return ports;
  }
}
