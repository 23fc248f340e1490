package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A reusable flyweight over one packet's bytes: an mbuf's data area on the packet path, or a heap
 * array in tests. Network byte order accessors; offsets are from the start of the packet (the
 * Ethernet header). Re-pointed with {@link #wrap} for every packet, so nothing is allocated per packet.
 *
 * <p>Threading: owned by one poller thread (or the pipeline stage it is handed to); not thread-safe.
 */
public final class PacketBuffer {
  private static final ValueLayout.OfShort SHORT_BE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final ValueLayout.OfInt INT_BE =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

  private MemorySegment segment = MemorySegment.NULL;
  private long base;
  private int length;
  private int capacity;
  private long nativeHandle;

  /** A flyweight over a heap copy of {@code bytes} (tests, the pcap tools); capacity = array length. */
  public static PacketBuffer ofBytes(byte[] bytes, int length) {
    PacketBuffer buffer = new PacketBuffer();
    buffer.wrap(MemorySegment.ofArray(bytes), 0, length, bytes.length, 0);
    return buffer;
  }

  /**
   * Re-points this flyweight. Package-private: only the native door hands out packet memory.
   *
   * @param nativeHandle the mbuf address this packet belongs to (0 for heap packets)
   */
  void wrap(MemorySegment segment, long base, int length, int capacity, long nativeHandle) {
    this.segment = segment;
    this.base = base;
    this.length = length;
    this.capacity = capacity;
    this.nativeHandle = nativeHandle;
  }

  /** Packet length in bytes. */
  public int length() {
    return length;
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
    return segment.get(ValueLayout.JAVA_BYTE, base + offset) & 0xFF;
  }

  public void putByte(int offset, int value) {
    segment.set(ValueLayout.JAVA_BYTE, base + offset, (byte) value);
  }

  /** Unsigned 16-bit big-endian. */
  public int getShort(int offset) {
    return segment.get(SHORT_BE, base + offset) & 0xFFFF;
  }

  public void putShort(int offset, int value) {
    segment.set(SHORT_BE, base + offset, (short) value);
  }

  /** 32-bit big-endian (as an int; use {@code Integer.toUnsignedLong} for the unsigned value). */
  public int getInt(int offset) {
    return segment.get(INT_BE, base + offset);
  }

  public void putInt(int offset, int value) {
    segment.set(INT_BE, base + offset, value);
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
    MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, base + offset, dst, dstOffset, len);
  }

  public void putBytes(int offset, byte[] src, int srcOffset, int len) {
    MemorySegment.copy(src, srcOffset, segment, ValueLayout.JAVA_BYTE, base + offset, len);
  }
}
