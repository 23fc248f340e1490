package io.keelson.dataplane.http1.codec;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Remembers the last String made from a byte range and returns it again when the next range holds
 * the same bytes: a keep-alive client repeats its path, User-Agent, Accept... on every request, so
 * this saves the allocation without a per-connection map. Owned by one parser; not thread-safe.
 */
final class Latin1Memo {
  private byte[] bytes = new byte[0];
  private String string = "";
  private Object tag;

  /** The String of b[from, to) as Latin-1, reused when the bytes (and tag) match the last call. */
  String of(byte[] b, int from, int to, Object newTag) {
    int len = to - from;
    byte[] prev = bytes;
    if (tag == newTag && prev.length == len && Arrays.equals(prev, 0, len, b, from, to)) {
      return string;
    }
    String s = new String(b, from, len, StandardCharsets.ISO_8859_1);
    if (prev.length != len) {
      prev = new byte[len];
      bytes = prev;
    }
    System.arraycopy(b, from, prev, 0, len);
    string = s;
    tag = newTag;
    return s;
  }
}
