package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A reusable flyweight over one packet's bytes: an mbuf's data area on the packet path, or a heap
 * array in tests. Network byte order accessors; offsets are from the start of the packet (the
 * Ethernet header). Re-pointed with {@link #wrap} for every packet, so nothing is allocated per packet.
 *
 * <p>Native packets are read through {@link AllMemory#SEGMENT}, one constant segment over all memory,
 * at the packet's absolute address: the JIT then sees the same segment on every access and drops the
 * per-access scope checking, which a per-packet segment field cannot give (the parse stage took 28-50 ns per
 * packet that way), and, with the address typed as {@link #USER_ADDRESS_MASK} says, the bounds check too. Heap
 * packets take the other branch of each accessor (a byte-array view); on the packet path that branch is never
 * taken, so the JIT compiles it out.
 *
 * <p>Threading: owned by one poller thread (or the pipeline stage it is handed to); not thread-safe.
 */
public final class PacketBuffer {
  private static final ValueLayout.OfShort SHORT_BE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final ValueLayout.OfInt INT_BE =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final ValueLayout.OfLong LONG_BE =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final VarHandle HEAP_SHORT =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle HEAP_INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle HEAP_LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  /**
   * Every native accessor reads or writes {@code (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL)}: a
   * user-space address (below 2^47 on x86-64, 2^48 on AArch64) masked to 48 bits, plus the offset taken as unsigned
   * (below 2^32). The JIT can then prove the sum far inside the all-memory segment, so the segment's bounds check (an
   * add, a compare and a branch on every packet read and write) folds away; for such an address it could never fail
   * anyway, the segment spans all memory. A negative offset, which no caller passes, lands 4 GiB past the packet
   * instead of throwing. The expression is written out in each accessor, without a helper (not even
   * {@code Integer.toUnsignedLong}): C2 does not inline a non-trivial method at a call site its profile never saw
   * run, so after a warm-up on heap packets (tests, set-up) the native branch would make a real call per access.
   */
  private static final long USER_ADDRESS_MASK = (1L << 48) - 1;

  /**
   * The first address the native accessors cannot reach (2^48). Below it the mask changes nothing; at or above it (a
   * kernel with 5-level paging maps user memory up to 2^56 when asked to) a packet would be read at the wrong address,
   * so {@link Mempool#create} refuses a pool whose memory reaches it. {@link MbufLayout} masks mbuf addresses alike.
   */
  public static final long ADDRESS_LIMIT = USER_ADDRESS_MASK + 1;

  /** The heap copy's array, or null for a native packet. */
  private byte[] heap;
  /** Native: the absolute address of the first packet byte. Heap: 0. */
  private long address;
  private int length;
  /** The length when wrapped: {@link #lengthChanged()} tells whether the mbuf's length needs writing back. */
  private int wrappedLength;
  private int capacity;
  private long nativeHandle;

  /** A flyweight over a heap copy of {@code bytes} (tests, the pcap tools); capacity = array length. */
  public static PacketBuffer ofBytes(byte[] bytes, int length) {
    PacketBuffer buffer = new PacketBuffer();
    buffer.wrapHeap(bytes, length);
    return buffer;
  }

  /**
   * A flyweight over a native copy of {@code bytes} that lives as long as {@code arena}: benchmarks and
   * tests that want the packet path's memory shape without an mbuf ({@link #nativeHandle()} is 0).
   */
  public static PacketBuffer ofNativeCopy(Arena arena, byte[] bytes, int length) {
    MemorySegment copy = arena.allocate(Math.max(1, bytes.length), 64);
    MemorySegment.copy(bytes, 0, copy, ValueLayout.JAVA_BYTE, 0, bytes.length);
    PacketBuffer buffer = new PacketBuffer();
    buffer.wrapNative(copy.address(), length, bytes.length, 0);
    return buffer;
  }

  /** Re-points this flyweight at a heap array (no copy). */
  public void wrapHeap(byte[] bytes, int length) {
    if (length < 0 || length > bytes.length) {
      throw new IndexOutOfBoundsException("length " + length + " outside [0, " + bytes.length + "]");
    }
    this.heap = bytes;
    this.address = 0;
    this.length = length;
    this.wrappedLength = length;
    this.capacity = bytes.length;
    this.nativeHandle = 0;
  }

  /**
   * Re-points this flyweight at native memory. Package-private: only the native door hands out packet
   * memory.
   *
   * @param nativeHandle the mbuf address this packet belongs to (0 when it is not an mbuf)
   */
  void wrapNative(long address, int length, int capacity, long nativeHandle) {
    this.heap = null;
    this.address = address;
    this.length = length;
    this.wrappedLength = length;
    this.capacity = capacity;
    this.nativeHandle = nativeHandle;
  }

  /** Packet length in bytes. */
  public int length() {
    return length;
  }

  /** Whether {@link #length(int)} changed the length since the buffer was wrapped (the mbuf still has the old one). */
  public boolean lengthChanged() {
    return length != wrappedLength;
  }

  /** How many bytes the packet may grow to in place. */
  public int capacity() {
    return capacity;
  }

  /** Sets the packet length (after a rewrite that changes it); must not exceed {@link #capacity()}. */
  public void length(int newLength) {
    if (newLength < 0 || newLength > capacity) {
      throw new IndexOutOfBoundsException("length " + newLength + " outside [0, " + capacity + "]");
    }
    this.length = newLength;
  }

  /** The mbuf this packet lives in (0 for heap packets). */
  public long nativeHandle() {
    return nativeHandle;
  }

  public int getByte(int offset) {
    byte[] h = heap;
    if (h == null) {
      return AllMemory.SEGMENT.get(ValueLayout.JAVA_BYTE,
          (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL)) & 0xFF;
    }
    return h[offset] & 0xFF;
  }

  public void putByte(int offset, int value) {
    byte[] h = heap;
    if (h == null) {
      AllMemory.SEGMENT.set(ValueLayout.JAVA_BYTE,
          (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL), (byte) value);
    } else {
      h[offset] = (byte) value;
    }
  }

  /** Unsigned 16-bit big-endian. */
  public int getShort(int offset) {
    byte[] h = heap;
    if (h == null) {
      return AllMemory.SEGMENT.get(SHORT_BE, (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL)) & 0xFFFF;
    }
    return (short) HEAP_SHORT.get(h, offset) & 0xFFFF;
  }

  public void putShort(int offset, int value) {
    byte[] h = heap;
    if (h == null) {
      AllMemory.SEGMENT.set(SHORT_BE, (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL), (short) value);
    } else {
      HEAP_SHORT.set(h, offset, (short) value);
    }
  }

  /** 32-bit big-endian (as an int; use {@code Integer.toUnsignedLong} for the unsigned value). */
  public int getInt(int offset) {
    byte[] h = heap;
    if (h == null) {
      return AllMemory.SEGMENT.get(INT_BE, (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL));
    }
    return (int) HEAP_INT.get(h, offset);
  }

  /**
   * Eight bytes at {@code offset}, big-endian: one read where a parser would otherwise make two or three
   * (the caller has checked {@code offset + 8 <= length()}).
   */
  public long getLong(int offset) {
    byte[] h = heap;
    if (h == null) {
      return AllMemory.SEGMENT.get(LONG_BE, (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL));
    }
    return (long) HEAP_LONG.get(h, offset);
  }

  public void putInt(int offset, int value) {
    byte[] h = heap;
    if (h == null) {
      AllMemory.SEGMENT.set(INT_BE, (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL), value);
    } else {
      HEAP_INT.set(h, offset, value);
    }
  }

  /** Eight bytes at {@code offset}, big-endian: one write where a rewrite would otherwise make two or three. */
  public void putLong(int offset, long value) {
    byte[] h = heap;
    if (h == null) {
      AllMemory.SEGMENT.set(LONG_BE, (address & USER_ADDRESS_MASK) + (offset & 0xFFFF_FFFFL), value);
    } else {
      HEAP_LONG.set(h, offset, value);
    }
  }

  /** 48-bit big-endian (a MAC address) in the low bits of a long. */
  public long getMac(int offset) {
    return ((long) getShort(offset) << 32) | Integer.toUnsignedLong(getInt(offset + 2));
  }

  public void putMac(int offset, long mac) {
    putShort(offset, (int) (mac >>> 32));
    putInt(offset + 2, (int) mac);
  }

  /** Copies {@code len} bytes out (tests, slow paths such as the exception port). */
  public void getBytes(int offset, byte[] dst, int dstOffset, int len) {
    byte[] h = heap;
    if (h == null) {
      MemorySegment.copy(AllMemory.SEGMENT, ValueLayout.JAVA_BYTE, address + offset, dst, dstOffset, len);
    } else {
      System.arraycopy(h, offset, dst, dstOffset, len);
    }
  }

  public void putBytes(int offset, byte[] src, int srcOffset, int len) {
    byte[] h = heap;
    if (h == null) {
      MemorySegment.copy(src, srcOffset, AllMemory.SEGMENT, ValueLayout.JAVA_BYTE, address + offset, len);
    } else {
      System.arraycopy(src, srcOffset, h, offset, len);
    }
  }
}
