package io.keelson.dataplane.accesslog;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * A growable byte buffer that access log lines are formatted into as UTF-8, many lines per write: no
 * String, StringBuilder or char-to-byte copy per line. Owned by the writer thread. Not thread-safe.
 */
final class LineBuffer {
  private static final DateTimeFormatter SECOND =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.").withZone(ZoneOffset.UTC);

  private byte[] bytes;
  private int length;
  /** The start time's second, formatted once per second ("yyyy-MM-ddTHH:mm:ss."), as Envoy caches it. */
  private long cachedSecond = Long.MIN_VALUE;
  private final byte[] secondBytes = new byte[20];
  private LineBuffer scratch;

  LineBuffer(int capacity) {
    bytes = new byte[capacity];
  }

  int length() {
    return length;
  }

  void setLength(int n) {
    length = n;
  }

  byte[] array() {
    return bytes;
  }

  /** A second buffer for JSON values built from several operators (escaped when copied back). */
  LineBuffer scratch() {
    if (scratch == null) {
      scratch = new LineBuffer(256);
    }
    scratch.length = 0;
    return scratch;
  }

  void writeTo(OutputStream out) throws IOException {
    out.write(bytes, 0, length);
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = java.util.Arrays.copyOf(bytes, Math.max(length + more, bytes.length * 2));
    }
  }

  void put(byte b) {
    ensure(1);
    bytes[length++] = b;
  }

  void put(byte[] b) {
    ensure(b.length);
    System.arraycopy(b, 0, bytes, length, b.length);
    length += b.length;
  }

  void put(byte[] b, int from, int to) {
    ensure(to - from);
    System.arraycopy(b, from, bytes, length, to - from);
    length += to - from;
  }

  /** Appends {@code s} as UTF-8 (at most {@code max} chars when max >= 0). */
  void put(String s, int max) {
    int n = max >= 0 ? Math.min(max, s.length()) : s.length();
    ensure(n);
    byte[] b = bytes;
    int at = length;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        length = at;
        putUtf8(s, i, n);
        return;
      }
      b[at++] = (byte) c;
    }
    length = at;
  }

  void put(String s) {
    put(s, -1);
  }

  /** The rare non-ASCII tail of a string (a header value), encoded without allocating. */
  private void putUtf8(String s, int from, int to) {
    ensure((to - from) * 3 + 1);
    for (int i = from; i < to; i++) {
      int c = s.charAt(i);
      if (Character.isHighSurrogate((char) c) && i + 1 < to && Character.isLowSurrogate(s.charAt(i + 1))) {
        c = Character.toCodePoint((char) c, s.charAt(++i));
      }
      if (c < 0x80) {
        bytes[length++] = (byte) c;
      } else if (c < 0x800) {
        bytes[length++] = (byte) (0xc0 | (c >> 6));
        bytes[length++] = (byte) (0x80 | (c & 0x3f));
      } else if (c < 0x10000) {
        if (Character.isSurrogate((char) c)) {
          bytes[length++] = '?'; // a lone surrogate, as String.getBytes(UTF_8) writes it
          continue;
        }
        bytes[length++] = (byte) (0xe0 | (c >> 12));
        bytes[length++] = (byte) (0x80 | ((c >> 6) & 0x3f));
        bytes[length++] = (byte) (0x80 | (c & 0x3f));
      } else {
        bytes[length++] = (byte) (0xf0 | (c >> 18));
        bytes[length++] = (byte) (0x80 | ((c >> 12) & 0x3f));
        bytes[length++] = (byte) (0x80 | ((c >> 6) & 0x3f));
        bytes[length++] = (byte) (0x80 | (c & 0x3f));
      }
    }
  }

  /** Appends the decimal digits of {@code v}. */
  void put(long v) {
    ensure(20);
    if (v < 0) {
      if (v == Long.MIN_VALUE) {
        put(Long.toString(v));
        return;
      }
      bytes[length++] = '-';
      v = -v;
    }
    int digits = 1;
    for (long x = v; x >= 10; x /= 10) {
      digits++;
    }
    int end = length + digits;
    for (int i = end - 1; i >= length; i--) {
      bytes[i] = (byte) ('0' + (int) (v % 10));
      v /= 10;
    }
    length = end;
  }

  /** Appends {@code millis} as yyyy-MM-ddTHH:mm:ss.SSSZ (UTC); the date and time are formatted once per second. */
  void putStartTime(long millis) {
    long second = Math.floorDiv(millis, 1000);
    if (second != cachedSecond) {
      cachedSecond = second;
      String s = SECOND.format(java.time.Instant.ofEpochSecond(second));
      for (int i = 0; i < 20; i++) {
        secondBytes[i] = (byte) s.charAt(i);
      }
    }
    ensure(24);
    System.arraycopy(secondBytes, 0, bytes, length, 20);
    int ms = (int) Math.floorMod(millis, 1000);
    bytes[length + 20] = (byte) ('0' + ms / 100);
    bytes[length + 21] = (byte) ('0' + ms / 10 % 10);
    bytes[length + 22] = (byte) ('0' + ms % 10);
    bytes[length + 23] = 'Z';
    length += 24;
  }

  /** Appends bytes [from, to) of {@code src} as the inside of a JSON string (quotes not included). */
  void putJsonEscaped(byte[] src, int from, int to) {
    ensure(to - from);
    for (int i = from; i < to; i++) {
      byte c = src[i];
      switch (c) {
        case '"' -> put2('\\', '"');
        case '\\' -> put2('\\', '\\');
        case '\n' -> put2('\\', 'n');
        case '\r' -> put2('\\', 'r');
        case '\t' -> put2('\\', 't');
        default -> {
          if (c >= 0 && c < 0x20) {
            put("\\u00");
            put(HEX[c >> 4]);
            put(HEX[c & 0xf]);
          } else {
            put(c); // ASCII, or a byte of a UTF-8 sequence (never a quote or a backslash)
          }
        }
      }
    }
  }

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

  private void put2(char a, char b) {
    ensure(2);
    bytes[length++] = (byte) a;
    bytes[length++] = (byte) b;
  }
}
