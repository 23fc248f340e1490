package io.keelson.dataplane.http1.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Byte classes of RFC 9110/9112 as lookup tables, and small formatting helpers. Stateless. */
final class Http1Bytes {
  static final byte CR = '\r';
  static final byte LF = '\n';
  static final byte SP = ' ';
  static final byte HTAB = '\t';

  /** tchar: the bytes of a token (method, header name, transfer coding). */
  private static final boolean[] TCHAR = new boolean[256];
  /** field-vchar, SP and HTAB: what a header value (or reason phrase) may hold. */
  private static final boolean[] FIELD_CHAR = new boolean[256];
  /** What a request-target may hold: VCHAR except '#' (a fragment is never sent). */
  private static final boolean[] TARGET_CHAR = new boolean[256];
  /** What a Host value may hold: reg-name / IP-literal characters, ':' and digits for the port. */
  private static final boolean[] HOST_CHAR = new boolean[256];

  static {
    for (int c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
      HOST_CHAR[c] = true;
    }
    for (int c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 32] = true;
      HOST_CHAR[c] = true;
      HOST_CHAR[c - 32] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
    for (char c : "-._~!$&'()*+,;=:[]%".toCharArray()) {
      HOST_CHAR[c] = true;
    }
    for (int c = 0x21; c <= 0x7e; c++) {
      FIELD_CHAR[c] = true;
      TARGET_CHAR[c] = true;
    }
    for (int c = 0x80; c <= 0xff; c++) {
      FIELD_CHAR[c] = true;
    }
    FIELD_CHAR[SP] = true;
    FIELD_CHAR[HTAB] = true;
    TARGET_CHAR['#'] = false;
  }

  /** Reads 8 bytes of a byte[] as one little-endian long, for scanning a word at a time (SWAR). */
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;
  private static final long CRS = 0x0D0D0D0D0D0D0D0DL;
  private static final long LFS = 0x0A0A0A0A0A0A0A0AL;
  private static final long DELS = 0x7F7F7F7F7F7F7F7FL;
  private static final long SPACES = 0x2020202020202020L;

  private Http1Bytes() {}

  /**
   * Index of the first CR or LF in b[from, to), or {@code to}. Eight bytes per step: the lowest
   * flagged byte of the "has zero byte" trick is always exact (borrows only run upwards).
   */
  static int findCrOrLf(byte[] b, int from, int to) {
    int i = from;
    for (; i + 8 <= to; i += 8) {
      long w = (long) LONGS.get(b, i);
      long cr = w ^ CRS;
      long lf = w ^ LFS;
      long hits = ((cr - ONES) & ~cr | (lf - ONES) & ~lf) & HIGHS;
      if (hits != 0) {
        return i + (Long.numberOfTrailingZeros(hits) >>> 3);
      }
    }
    for (; i < to; i++) {
      if (b[i] == CR || b[i] == LF) {
        return i;
      }
    }
    return to;
  }

  static boolean isTchar(byte b) {
    return TCHAR[b & 0xff];
  }

  static boolean isFieldChar(byte b) {
    return FIELD_CHAR[b & 0xff];
  }

  static boolean isTargetChar(byte b) {
    return TARGET_CHAR[b & 0xff];
  }

  static boolean isHostChar(char c) {
    return c < 256 && HOST_CHAR[c];
  }

  static boolean isOws(byte b) {
    return b == SP || b == HTAB;
  }

  /** Index of the first byte in [from, to) that is not a tchar, or {@code to}. */
  static int skipToken(byte[] b, int from, int to) {
    int i = from;
    while (i < to && TCHAR[b[i] & 0xff]) {
      i++;
    }
    return i;
  }

  /** Index of the first byte in [from, to) that is not a field character, or {@code to}. */
  static int firstNonFieldChar(byte[] b, int from, int to) {
    int i = from;
    // Fast path: skip words with no byte below 0x20 (controls, HTAB included) and no DEL.
    for (; i + 8 <= to; i += 8) {
      long w = (long) LONGS.get(b, i);
      long del = w ^ DELS;
      if (((((w - SPACES) & ~w) | ((del - ONES) & ~del)) & HIGHS) != 0) {
        break;
      }
    }
    for (; i < to; i++) {
      if (!FIELD_CHAR[b[i] & 0xff]) {
        return i;
      }
    }
    return to;
  }

  /** "0x01": how error messages name a byte. */
  static String hex(byte b) {
    int v = b & 0xff;
    return "0x" + Character.forDigit(v >> 4, 16) + Character.forDigit(v & 0xf, 16);
  }

  static boolean isTcharString(CharSequence s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c > 0xff || !TCHAR[c]) {
        return false;
      }
    }
    return true;
  }

  /** True when every char of {@code s} may appear in a header value (Latin-1 field chars). */
  static boolean isFieldString(CharSequence s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c > 0xff || !FIELD_CHAR[c]) {
        return false;
      }
    }
    return true;
  }
}
