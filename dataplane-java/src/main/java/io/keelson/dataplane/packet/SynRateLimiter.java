package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;

/**
 * A token bucket per source address for SYNs, in a bounded table (a window of {@link #PROBES}
 * slots per address; when full, the source idle longest is forgotten and starts again with a full
 * bucket — bounded memory is worth that leniency). Credit is kept in nanoseconds of refill time, so
 * refilling is one subtraction and no division happens per packet.
 *
 * <p>Threading: single writer (the classify stage).
 */
final class SynRateLimiter {
  static final int PROBES = 8;

  private final int[] ips;
  private final long[] credit;
  private final long[] last;
  private final boolean[] used;
  private final int mask;
  private long costNanos;
  private long capacityNanos;

  SynRateLimiter(int sources, int perSecond, int burst) {
    int size = Integer.highestOneBit(Math.max(PROBES, sources) - 1) << 1;
    ips = new int[size];
    credit = new long[size];
    last = new long[size];
    used = new boolean[size];
    mask = size - 1;
    rate(perSecond, burst);
  }

  void rate(int perSecond, int burst) {
    costNanos = 1_000_000_000L / perSecond;
    capacityNanos = costNanos * burst;
  }

  /** Takes one token for {@code source}; false when its bucket is empty. */
  boolean tryAcquire(int source, long now) {
    int i = (int) MaglevTable.mix(source) & mask;
    int stalest = i;
    int slot = -1;
    for (int k = 0; k < PROBES; k++, i = (i + 1) & mask) {
      if (!used[i]) {
        slot = i;
        used[i] = true;
        ips[i] = source;
        credit[i] = capacityNanos;
        last[i] = now;
        break;
      }
      if (ips[i] == source) {
        slot = i;
        break;
      }
      if (last[i] < last[stalest]) {
        stalest = i;
      }
    }
    if (slot < 0) {
      slot = stalest;
      ips[slot] = source;
      credit[slot] = capacityNanos;
      last[slot] = now;
    }
    long c = Math.min(capacityNanos, credit[slot] + Math.max(0, now - last[slot]));
    last[slot] = now;
    if (c < costNanos) {
      credit[slot] = c;
      return false;
    }
    credit[slot] = c - costNanos;
    return true;
  }
}
