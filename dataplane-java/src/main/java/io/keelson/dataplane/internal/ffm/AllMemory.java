package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.MemorySegment;

/**
 * All of native memory as one segment: packets and mbuf fields are addressed absolutely through it.
 * Being a {@code static final} in its own holder, it is a constant to the JIT, which then folds the
 * segment's liveness check (global scope) and most of its bounds check into nothing per access, where a
 * per-packet segment object loaded from a field costs a load, a scope check and a bounds check each
 * time. Its own class so heap-only users of {@link PacketBuffer} (tests without DPDK) never touch it.
 *
 * <p>Threading: immutable constant.
 */
final class AllMemory {
  static final MemorySegment SEGMENT = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

  private AllMemory() {}
}
