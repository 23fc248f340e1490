package io.keelson.dataplane.packet.maglev;

import java.util.Arrays;

/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI'16, §3.4): a lookup table of prime size M in which every backend claims entries
 * in the order of its own permutation {@code (offset + j * skip) mod M}, round-robin, until the
 * table is full. Lookups are one array read; a change in the backend set moves few entries beyond
 * those the change has to move.
 *
 * <p>Weights follow the paper's suggestion: a backend takes a turn in a round in proportion to its
 * weight (credit accumulates by {@code weight} and a turn costs the largest weight), so entries are
 * shared in proportion to weight while the permutations, and so the disruption bound, are unchanged.
 *
 * <p>Threading: immutable after {@link #build}; share it freely between threads.
 */
public final class MaglevTable {
  /** The paper's smallest recommended size: a prime well above 100 × the backend count of a typical VIP. */
  public static final int DEFAULT_SIZE = 65_537;
  /** Larger tables cost memory and build time with no gain at the backend counts a VIP has. */
  public static final int MAX_SIZE = 16_777_259;

  private static final long OFFSET_SEED = 0x9E37_79B9_7F4A_7C15L;
  private static final long SKIP_SEED = 0xC2B2_AE3D_27D4_EB4FL;

  private final int[] entries;
  private final int backendCount;

  private MaglevTable(int[] entries, int backendCount) {
    this.entries = entries;
    this.backendCount = backendCount;
  }

  /**
   * Builds the table.
   *
   * @param backendKeys a stable identity per backend (e.g. {@code ip << 16 | port}): it alone decides
   *     the backend's permutation, so the same backend claims the same entries in every build
   * @param weights     per backend, ≥ 0 (0 = takes no entries); null means all 1
   * @param tableSize   a prime in [{@link #DEFAULT_SIZE}, {@link #MAX_SIZE}]
   */
  public static MaglevTable build(long[] backendKeys, int[] weights, int tableSize) {
    if (tableSize < DEFAULT_SIZE || tableSize > MAX_SIZE || !isPrime(tableSize)) {
      throw new IllegalArgumentException(
          "maglev table size " + tableSize + " must be a prime in [" + DEFAULT_SIZE + ", " + MAX_SIZE + "]");
    }
    int n = backendKeys.length;
    if (weights != null && weights.length != n) {
      throw new IllegalArgumentException(
          "maglev: " + weights.length + " weights for " + n + " backends");
    }
    int[] entries = new int[tableSize];
    Arrays.fill(entries, -1);
    int maxWeight = 0;
    for (int i = 0; i < n; i++) {
      int w = weights == null ? 1 : weights[i];
      if (w < 0) {
        throw new IllegalArgumentException("maglev: backend " + i + " has negative weight " + w);
      }
      maxWeight = Math.max(maxWeight, w);
    }
    if (maxWeight == 0) {
      return new MaglevTable(entries, n);
    }
    int[] position = new int[n];
    int[] skip = new int[n];
    long[] credit = new long[n];
    for (int i = 0; i < n; i++) {
      position[i] = (int) Long.remainderUnsigned(mix(backendKeys[i] ^ OFFSET_SEED), tableSize);
      skip[i] = (int) Long.remainderUnsigned(mix(backendKeys[i] ^ SKIP_SEED), tableSize - 1) + 1;
    }
    int filled = 0;
    while (true) {
      for (int i = 0; i < n; i++) {
        int w = weights == null ? 1 : weights[i];
        credit[i] += w;
        if (credit[i] < maxWeight) {
          continue;
        }
        credit[i] -= maxWeight;
        int c = position[i];
        while (entries[c] >= 0) {
          c += skip[i];
          if (c >= tableSize) {
            c -= tableSize;
          }
        }
        entries[c] = i;
        c += skip[i];
        position[i] = c >= tableSize ? c - tableSize : c;
        if (++filled == tableSize) {
          return new MaglevTable(entries, n);
        }
      }
    }
  }

  /** The backend index (into the build's arrays) for a flow hash, or -1 when no backend has weight. */
  public int lookup(long hash) {
    // Lemire's multiply-shift range reduction: unbiased enough for a 32-bit input, and no division.
    return entries[(int) (((hash >>> 32) * entries.length) >>> 32)];
  }

  public int size() {
    return entries.length;
  }

  public int backendCount() {
    return backendCount;
  }

  /** How many entries point at {@code backend} (tests, diagnostics). */
  public int entriesOf(int backend) {
    int count = 0;
    for (int e : entries) {
      if (e == backend) {
        count++;
      }
    }
    return count;
  }

  /** The flow hash of an IPv4 5-tuple: one 64-bit mix, no allocation. */
  public static long hash5(int srcIp, int dstIp, int srcPort, int dstPort, int protocol) {
    long a = ((long) srcIp << 32) | (dstIp & 0xFFFFFFFFL);
    long b = ((long) srcPort << 32) | ((long) dstPort << 16) | protocol;
    return mix(a * 0x9E37_79B9_7F4A_7C15L ^ Long.rotateLeft(b, 23) ^ b * 0xC2B2_AE3D_27D4_EB4FL);
  }

  /** Murmur3's fmix64 finaliser: every input bit affects every output bit. */
  /** {@link #hash5(int, int, int, int, int)} for an IPv6 5-tuple (addresses as high and low 64 bits). */
  public static long hash5(long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort, int protocol) {
    long a = mix(srcHi ^ Long.rotateLeft(srcLo, 17) ^ dstHi * 0xC2B2_AE3D_27D4_EB4FL) ^ Long.rotateLeft(dstLo, 41);
    long b = ((long) srcPort << 32) | ((long) dstPort << 16) | protocol;
    return mix(a * 0x9E37_79B9_7F4A_7C15L ^ Long.rotateLeft(b, 23) ^ b * 0xC2B2_AE3D_27D4_EB4FL);
  }

  public static long mix(long z) {
    z ^= z >>> 33;
    z *= 0xFF51_AFD7_ED55_8CCDL;
    z ^= z >>> 33;
    z *= 0xC4CE_B9FE_1A85_EC53L;
    z ^= z >>> 33;
    return z;
  }

  /** Trial division: table sizes are ≤ 2^24, so this costs microseconds at build time only. */
  public static boolean isPrime(int n) {
    if (n < 2) {
      return false;
    }
    if (n % 2 == 0) {
      return n == 2;
    }
    for (int d = 3; (long) d * d <= n; d += 2) {
      if (n % d == 0) {
        return false;
      }
    }
    return true;
  }
}
