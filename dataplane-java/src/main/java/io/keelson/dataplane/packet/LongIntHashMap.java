package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.util.Arrays;

/**
 * A fixed-size open-addressing map from long keys to non-negative ints, filled once at config
 * build time and then only read (VIP lookups per packet).
 *
 * <p>Threading: immutable once built; reads from any thread.
 */
final class LongIntHashMap {
  private final long[] keys;
  private final int[] values;
  private final int mask;

  LongIntHashMap(int expected) {
    int size = Integer.highestOneBit(Math.max(4, expected * 2 + 1)) << 1;
    keys = new long[size];
    values = new int[size];
    Arrays.fill(values, -1);
    mask = size - 1;
  }

  /** Build time only. Returns false when the key was already present (value unchanged). */
  boolean put(long key, int value) {
    int i = (int) MaglevTable.mix(key) & mask;
    while (values[i] >= 0) {
      if (keys[i] == key) {
        return false;
      }
      i = (i + 1) & mask;
    }
    keys[i] = key;
    values[i] = value;
    return true;
  }

  /** The value, or -1. */
  int get(long key) {
    int i = (int) MaglevTable.mix(key) & mask;
    while (true) {
      int v = values[i];
      if (v < 0) {
        return -1;
      }
      if (keys[i] == key) {
        return v;
      }
      i = (i + 1) & mask;
    }
  }
}
