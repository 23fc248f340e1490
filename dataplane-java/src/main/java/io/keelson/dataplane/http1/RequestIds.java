package io.keelson.dataplane.http1;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/** Random version-4 UUID strings for x-request-id, without java.util.UUID's SecureRandom. Thread-safe. */
final class RequestIds {
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private RequestIds() {}

  /** Built as Latin-1 bytes: the String keeps them as they are (no char[] and no compression pass). */
  static String next() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    byte[] out = new byte[36];
    int p = 0;
    for (int i = 15; i >= 0; i--) {
      out[p++] = HEX[(int) (hi >>> (i * 4)) & 0xF];
      if (i == 8 || i == 4) {
        out[p++] = '-';
      }
    }
    out[p++] = '-';
    for (int i = 15; i >= 0; i--) {
      out[p++] = HEX[(int) (lo >>> (i * 4)) & 0xF];
      if (i == 12) {
        out[p++] = '-';
      }
    }
    return new String(out, StandardCharsets.ISO_8859_1);
  }
}
