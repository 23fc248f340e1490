package io.keelson.dataplane.packet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One long per {@link DropReason}, owned by the stage that drops. Writes are opaque stores (as
 * cheap as plain ones on x86) so an exporter thread can read a torn-free, eventually-fresh value
 * with {@link #snapshotInto} without locking the pipeline thread.
 *
 * <p>Threading: single writer (one pipeline stage); any thread may read.
 */
public final class DropCounters {
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] counts = new long[DropReason.count()];

  public void increment(DropReason reason) {
    int i = reason.ordinal();
    SLOT.setOpaque(counts, i, (long) SLOT.getOpaque(counts, i) + 1);
  }

  public long get(DropReason reason) {
    return (long) SLOT.getOpaque(counts, reason.ordinal());
  }

  /** Adds this counter set into {@code totals} (indexed by ordinal), so several stages can be summed. */
  public void snapshotInto(long[] totals) {
    for (int i = 0; i < counts.length; i++) {
      totals[i] += (long) SLOT.getOpaque(counts, i);
    }
  }
}
