package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Big-endian loads and stores at absolute native addresses, through the one constant all-memory
 * segment (see {@link PacketBuffer}): no heap/native branch and no per-field bounds check. For the
 * gateway's fast path, which checks a packet's length once and then reads its header words at fixed
 * offsets from {@link PacketBuffer#nativeAddress()}. The caller guarantees the bytes are inside the packet.
 *
 * <p>Threading: stateless.
 */
public final class NativeWords {
  private static final ValueLayout.OfShort SHORT_BE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final ValueLayout.OfInt INT_BE =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
  private static final ValueLayout.OfLong LONG_BE =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

  private NativeWords() {}

  /** Unsigned 16-bit. */
  public static int getShort(long address) {
    return AllMemory.SEGMENT.get(SHORT_BE, address) & 0xFFFF;
  }

  public static int getInt(long address) {
    return AllMemory.SEGMENT.get(INT_BE, address);
  }

  public static long getLong(long address) {
    return AllMemory.SEGMENT.get(LONG_BE, address);
  }

  public static void putShort(long address, int value) {
    AllMemory.SEGMENT.set(SHORT_BE, address, (short) value);
  }

  public static void putInt(long address, int value) {
    AllMemory.SEGMENT.set(INT_BE, address, value);
  }

  public static void putLong(long address, long value) {
    AllMemory.SEGMENT.set(LONG_BE, address, value);
  }
}
