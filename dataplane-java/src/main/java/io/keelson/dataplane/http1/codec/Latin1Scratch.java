package io.keelson.dataplane.http1.codec;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * Encodes heads into a per-thread heap array with bulk Latin-1 copies, then into the output buffer
 * in one copy: writing a String into a direct buffer goes char by char, a String's Latin-1 bytes
 * copy as one arraycopy. Every String handed here holds only chars up to 0xFF (the header and
 * request-line setters validate that), so the low byte of each char is its ISO-8859-1 encoding.
 * Thread-safe (the array is per thread); the array is only used between {@link #array} and the
 * {@link #flush} of the same call.
 */
final class Latin1Scratch {
  private static final int MAX_KEPT = 64 * 1024;
  private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
    @Override
    protected byte[] initialValue() {
      return new byte[2048];
    }
  };

  private Latin1Scratch() {}

  /** This thread's scratch array, at least {@code length} bytes long. */
  static byte[] array(int length) {
    byte[] b = SCRATCH.get();
    if (b.length < length) {
      b = new byte[Math.max(length, Math.min(b.length * 2, MAX_KEPT))];
      if (b.length <= MAX_KEPT) {
        SCRATCH.set(b);
      }
    }
    return b;
  }

  /** Copies the Latin-1 bytes of {@code s} to b[pos...]; returns the position after them. */
  @SuppressWarnings("deprecation") // getBytes(int, int, byte[], int) is an arraycopy for Latin-1 Strings, no allocation
  static int put(String s, byte[] b, int pos) {
    int n = s.length();
    s.getBytes(0, n, b, pos);
    return pos + n;
  }

  static int putCrlf(byte[] b, int pos) {
    b[pos] = '\r';
    b[pos + 1] = '\n';
    return pos + 2;
  }

  /** Writes b[0, length) to {@code out}. */
  static void flush(byte[] b, int length, ByteBuf out) {
    out.writeBytes(b, 0, length);
  }
}
