package io.keelson.dataplane.packet;

/**
 * Paces the gateway's duplicate address detection defences: at most one a second per target address, keyed by the
 * whole 128-bit address (one address's probes never spend another's allowance). A small table of the addresses
 * defended lately; past {@link #ENTRIES} addresses the one defended longest ago gives up its entry (the gateway owns
 * few addresses per link, so it never does in practice). One per forwarding shard: with N shards an address may be
 * defended up to N times a second (a probe lands on the shard its hash picks). Single writer (the shard's thread); no
 * allocation.
 */
final class NdpDefencePacer {
  static final int ENTRIES = 16;
  private static final long SECOND = 1_000_000_000L;

  private final long[] hi = new long[ENTRIES];
  private final long[] lo = new long[ENTRIES];
  private final long[] last = new long[ENTRIES];
  private final boolean[] used = new boolean[ENTRIES];

  /** Whether a defence of {@code targetHi:targetLo} may go at {@code now} (nanoseconds); if so it is counted. */
  boolean tryAcquire(long targetHi, long targetLo, long now) {
    int oldest = 0;
    for (int i = 0; i < ENTRIES; i++) {
      if (!used[i]) {
        return take(i, targetHi, targetLo, now);
      }
      if (hi[i] == targetHi && lo[i] == targetLo) {
        if (now - last[i] < SECOND) {
          return false;
        }
        last[i] = now;
        return true;
      }
      if (last[i] - last[oldest] < 0) {
        oldest = i;
      }
    }
    return take(oldest, targetHi, targetLo, now);
  }

  private boolean take(int i, long targetHi, long targetLo, long now) {
    used[i] = true;
    hi[i] = targetHi;
    lo[i] = targetLo;
    last[i] = now;
    return true;
  }
}
