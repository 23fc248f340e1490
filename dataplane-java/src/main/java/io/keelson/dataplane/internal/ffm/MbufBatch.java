package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A native array of mbuf pointers gathered for one destination: a TX queue of one port, or the
 * drop list freed in bulk. Adding a packet writes its (possibly rewritten) length back into the mbuf.
 *
 * <p>Threading: owned by one thread (the poller or the last pipeline stage).
 */
public final class MbufBatch implements AutoCloseable {
  private final Arena arena;
  final MemorySegment mbufs;
  private final int capacity;
  private int count;
  /** Bounce buffer for {@link #addCopy}: the rare path (ARP, exception copies), not per forwarded packet. */
  private byte[] copyBuffer = new byte[2048];

  public MbufBatch(int capacity) {
    if (capacity <= 0 || capacity > 0xFFFF) {
      throw new IllegalArgumentException("batch capacity " + capacity + " not in [1, 65535]");
    }
    this.capacity = capacity;
    arena = Arena.ofAuto(); // no session to acquire per downcall (a shared one costs two atomic updates per burst call)
    mbufs = arena.allocate(JAVA_LONG, capacity);
  }

  public int capacity() {
    return capacity;
  }

  public int count() {
    return count;
  }

  public boolean isFull() {
    return count == capacity;
  }

  /** Adds an mbuf-backed packet; false (and nothing added) when the batch is full or the packet is on the heap. */
  public boolean add(PacketBuffer packet) {
    long mbuf = packet.nativeHandle();
    if (count == capacity || mbuf == 0) {
      return false;
    }
    if (packet.lengthChanged()) {
      MbufLayout.setLength(mbuf, packet.length()); // else the mbuf has it: no store per packet
    }
    mbufs.setAtIndex(JAVA_LONG, count++, mbuf);
    return true;
  }

  /**
   * Adds a fresh mbuf from {@code pool} holding a copy of {@code frame}'s bytes (frames the gateway
   * originates, or copies for a second destination); false when the batch is full or the pool is empty.
   */
  public boolean addCopy(Mempool pool, PacketBuffer frame, PacketBuffer scratch) {
    if (count == capacity) {
      return false;
    }
    int rc;
    try {
      rc = (int) ShimCalls.Burst.ALLOC_BULK.invokeExact(pool.pool, mbufs.asSlice((long) count * 8), 1);
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mbuf_alloc_bulk", t);
    }
    if (rc < 0) {
      return false;
    }
    long mbuf = mbufs.getAtIndex(JAVA_LONG, count);
    int len = frame.length();
    scratch.wrapNative(MbufLayout.dataAddress(mbuf), len, MbufLayout.capacity(mbuf), mbuf);
    if (copyBuffer.length < len) {
      copyBuffer = new byte[len];
    }
    frame.getBytes(0, copyBuffer, 0, len);
    scratch.putBytes(0, copyBuffer, 0, len);
    MbufLayout.setLength(mbuf, len);
    count++;
    return true;
  }

  /** The flyweight over packet {@code i}: re-points {@code into} at it and returns it. */
  public PacketBuffer packet(int i, PacketBuffer into) {
    if (i >= count) {
      throw new IndexOutOfBoundsException("packet " + i + " of a batch of " + count);
    }
    long mbuf = mbufs.getAtIndex(JAVA_LONG, i);
    into.wrapNative(MbufLayout.dataAddress(mbuf), MbufLayout.dataLength(mbuf),
        MbufLayout.capacity(mbuf), mbuf);
    return into;
  }

  /** Forgets the mbufs without freeing them (they were handed to another batch or burst). */
  public void clear() {
    count = 0;
  }

  /** Returns every mbuf to its pool. */
  public void freeAll() {
    if (count > 0) {
      freeRange(0, count);
    }
    count = 0;
  }

  void appended(int n) {
    count += n;
  }

  /** After a TX that took {@code sent} mbufs: frees the rest and empties the batch. */
  void afterTransmit(int sent) {
    if (sent < count) {
      freeRange(sent, count - sent);
    }
    count = 0;
  }

  private void freeRange(int from, int n) {
    try {
      // A local, not a conditional: invokeExact would see a conditional's type as Object.
      MemorySegment first = from == 0 ? mbufs : mbufs.asSlice((long) from * 8);
      int ignored = (int) ShimCalls.Burst.FREE_BULK.invokeExact(first, n);
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mbuf_free_bulk", t);
    }
  }

  /** Frees the native pointer array (not the mbufs). */
  @Override
  public void close() {
    // An automatic arena: its memory is freed when this object is unreachable.
  }
}
