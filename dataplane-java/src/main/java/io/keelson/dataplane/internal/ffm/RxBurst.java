package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One RX burst: a native array of mbuf pointers that DPDK fills, and a reusable {@link PacketBuffer}
 * flyweight per slot, re-pointed at each received mbuf in place, so receiving allocates nothing.
 *
 * <p>Threading: owned by one thread at a time (the poller, then the pipeline stage it is handed to).
 */
public final class RxBurst implements AutoCloseable {
  private final Arena arena;
  final MemorySegment mbufs;
  private final PacketBuffer[] packets;
  private int count;
  /** Flyweights 0..wrapped-1 point at this burst's packets: wrapped on first use, since a poller
   * that hands packets on with {@link #repoint} never needs its own. */
  private int wrapped;

  public RxBurst(int capacity) {
    if (capacity <= 0 || capacity > 0xFFFF) {
      throw new IllegalArgumentException("burst capacity " + capacity + " not in [1, 65535]");
    }
    arena = Arena.ofAuto(); // no session to acquire per downcall (a shared one costs two atomic updates per burst call)
    mbufs = arena.allocate(JAVA_LONG, capacity);
    packets = new PacketBuffer[capacity];
    for (int i = 0; i < capacity; i++) {
      packets[i] = new PacketBuffer();
    }
  }

  public int capacity() {
    return packets.length;
  }

  /** Packets currently in the burst. */
  public int count() {
    return count;
  }

  /** The flyweight over packet {@code i} (valid until the burst is received into again). */
  public PacketBuffer packet(int i) {
    if (i >= count) {
      throw new IndexOutOfBoundsException("packet " + i + " of a burst of " + count);
    }
    while (wrapped <= i) {
      wrap(packets[wrapped], mbufs.getAtIndex(JAVA_LONG, wrapped));
      wrapped++;
    }
    return packets[i];
  }

  /** The mbuf address of packet {@code i}. */
  public long mbuf(int i) {
    return mbufs.getAtIndex(JAVA_LONG, i);
  }

  /**
   * Points another flyweight (a pipeline event's slot) at packet {@code i}: how a received burst is
   * handed to the pipeline without copying packet bytes.
   */
  public PacketBuffer repoint(int i, PacketBuffer target) {
    if (i >= count) {
      throw new IndexOutOfBoundsException("packet " + i + " of a burst of " + count);
    }
    wrap(target, mbufs.getAtIndex(JAVA_LONG, i));
    return target;
  }

  /** Returns every packet's mbuf to its pool and empties the burst (a burst nobody could take). */
  public void freeAll() {
    wrapped = 0;
    if (count > 0) {
      try {
        int ignored = (int) ShimCalls.Burst.FREE_BULK.invokeExact(mbufs, count);
      } catch (Throwable t) {
        throw new IllegalStateException("dp_mbuf_free_bulk", t);
      }
    }
    count = 0;
  }

  /** Forgets the packets without freeing them (after they were transmitted or freed). */
  public void clear() {
    count = 0;
    wrapped = 0;
  }

  /** DPDK just wrote {@code n} mbuf pointers; flyweights are pointed at them when first asked for. */
  void received(int n) {
    count = n;
    wrapped = 0;
  }

  private static void wrap(PacketBuffer p, long mbuf) {
    p.wrapNative(MbufLayout.dataAddress(mbuf), MbufLayout.dataLength(mbuf), MbufLayout.capacity(mbuf), mbuf);
  }

  /** Writes the (possibly rewritten) length of every packet handed out back into its mbuf before TX. */
  void syncLengths() {
    for (int i = 0; i < wrapped; i++) {
      PacketBuffer p = packets[i];
      if (p.lengthChanged()) {
        MbufLayout.setLength(p.nativeHandle(), p.length());
      }
    }
  }

  /** Frees the native pointer array (not the mbufs: transmit or free those first). */
  @Override
  public void close() {
    // An automatic arena: its memory is freed when this object is unreachable.
  }
}
