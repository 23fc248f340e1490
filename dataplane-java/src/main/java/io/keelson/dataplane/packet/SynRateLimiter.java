package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;

/**
 * A token bucket per source address for SYNs, in a bounded table (a window of {@link #PROBES}
 * slots per address; when full, the source with the most credit is forgotten and starts again with a
 * full bucket — bounded memory is worth that leniency).
 *
 * <p>Each bucket is one timestamp, its theoretical arrival time (the generic cell rate algorithm): the
 * instant the bucket would be full again. A SYN at {@code now} passes when that instant is at most
 * {@code capacity - cost} ahead of {@code now}, and moves it {@code cost} later. That is the token
 * bucket's arithmetic with one number instead of two, so a slot is two longs (the address, the time)
 * in one array: a SYN touches one cache line of the table, where four parallel arrays cost four misses.
 *
 * <p>Threading: single writer (the classify stage).
 */
final class SynRateLimiter {
  static final int PROBES = 8;
  /** Set in a slot's key word when it holds an address (so address 0.0.0.0 is not an empty slot). */
  private static final long USED = 1L << 32;
  /** The arrival time of a full bucket: earlier than any clock reading. */
  private static final long FULL = Long.MIN_VALUE;

  /** Slot i: {@code slots[2i]} = {@link #USED} | address, or 0 when empty; {@code slots[2i+1]} = arrival time. */
  private final long[] slots;
  private final int mask;
  private long costNanos;
  private long toleranceNanos;

  SynRateLimiter(int sources, int perSecond, int burst) {
    int size = Integer.highestOneBit(Math.max(PROBES, sources) - 1) << 1;
    slots = new long[size * 2];
    mask = size - 1;
    rate(perSecond, burst);
  }

  void rate(int perSecond, int burst) {
    costNanos = 1_000_000_000L / perSecond;
    toleranceNanos = costNanos * burst - costNanos;
  }

  boolean tryAcquire(int source, long now) {
    long key = USED | Integer.toUnsignedLong(source);
    int i = (int) MaglevTable.mix(source) & mask;
    int stalest = i;
    int slot = -1;
    for (int k = 0; k < PROBES; k++, i = (i + 1) & mask) {
      long held = slots[2 * i];
      if (held == key) {
        slot = i;
        break;
      }
      if (held == 0) {
        slot = i;
        slots[2 * i] = key;
        slots[2 * i + 1] = FULL;
        break;
      }
      if (slots[2 * i + 1] < slots[2 * stalest + 1]) {
        stalest = i;
      }
    }
    if (slot < 0) {
      slot = stalest;
      slots[2 * slot] = key;
      slots[2 * slot + 1] = FULL;
    }
    long arrival = Math.max(slots[2 * slot + 1], now);
    if (arrival - now > toleranceNanos) {
      return false;
    }
    slots[2 * slot + 1] = arrival + costNanos;
    return true;
  }
}
