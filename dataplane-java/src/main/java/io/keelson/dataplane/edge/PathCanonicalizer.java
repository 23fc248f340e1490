package io.keelson.dataplane.edge;

/**
 * RFC 3986 §6 path canonicalization exactly as Envoy's {@code normalize_path} does it (its snapshot of Chromium's
 * {@code CanonicalizePath}, Envoy's {@code PathUtil::canonicalPath}): dot segments ({@code .}, {@code ..} and their
 * {@code %2e} forms) removed, backslashes turned into slashes, escaped unreserved characters ({@code %61} → {@code a})
 * decoded, characters that may not appear in a path escaped ({@code %XX}, upper case), other escapes kept as sent
 * (their hex case too: {@code %2f} stays), a missing leading slash added. A NUL, escaped or not, makes the path
 * invalid (Envoy answers 400). Adjacent slashes are kept (that is {@code merge_slashes}).
 *
 * <p>Characters are bytes: the codecs give paths as Latin-1 strings. An already canonical path is recognised in one
 * scan and returned as the same instance, without allocating. Stateless.
 */
final class PathCanonicalizer {
  private static final byte PASS = 0;
  private static final byte SPECIAL = 1;
  private static final byte ESCAPE_BIT = 2;
  private static final byte ESCAPE = ESCAPE_BIT | SPECIAL;
  private static final byte UNESCAPE = 4;
  private static final byte INVALID_BIT = 8;
  private static final byte INVALID = INVALID_BIT | SPECIAL;
  /** Chromium's kPathCharLookup: what each byte becomes in a canonical path. */
  private static final byte[] TABLE = new byte[256];
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  static {
    for (int c = 0x21; c < 0x7f; c++) {
      TABLE[c] = PASS;
    }
    for (int c = 1; c <= 0x20; c++) {
      TABLE[c] = ESCAPE;
    }
    for (int c = 0x7f; c <= 0xff; c++) {
      TABLE[c] = ESCAPE;
    }
    TABLE[0] = INVALID;
    for (char c : "\"#%<>?\\^`{|}".toCharArray()) {
      TABLE[c] = ESCAPE;
    }
    for (int c = 'a'; c <= 'z'; c++) {
      TABLE[c] = UNESCAPE;
      TABLE[c - 'a' + 'A'] = UNESCAPE;
    }
    for (int c = '0'; c <= '9'; c++) {
      TABLE[c] = UNESCAPE;
    }
    TABLE['-'] = UNESCAPE;
    TABLE['_'] = UNESCAPE;
    TABLE['~'] = UNESCAPE;
    TABLE['.'] = SPECIAL; // dots are classified by dotLength, escaped or not
  }

  private PathCanonicalizer() {}

  /** {@code path} (no query) in canonical form; the same instance when it already is; null when it is invalid. */
  static String canonicalize(String path) {
    if (isCanonical(path)) {
      return path;
    }
    String canonical = rewrite(path);
    return path.equals(canonical) ? path : canonical;
  }

  /** One scan: nothing in {@code path} would be rewritten. */
  private static boolean isCanonical(String path) {
    int end = path.length();
    if (end == 0 || path.charAt(0) != '/') {
      return false;
    }
    for (int i = 1; i < end; i++) {
      char c = path.charAt(i);
      if (c > 0xff) {
        return false;
      }
      if ((TABLE[c] & SPECIAL) == 0) {
        continue;
      }
      if (c != '.') {
        return false; // an escape, a backslash, or a byte to escape
      }
      if (path.charAt(i - 1) == '/' && dotSegment(path, i, end)) {
        return false;
      }
    }
    return true;
  }

  /** The unescaped dot at {@code i}, just after a slash, starts a {@code .} or {@code ..} segment. */
  private static boolean dotSegment(String path, int i, int end) {
    int next = i + 1;
    if (next == end || isSlash(path.charAt(next)) || path.charAt(next) == '%') {
      return true; // "%" may be a "%2e": the full rewrite decides
    }
    if (path.charAt(next) != '.') {
      return false;
    }
    return next + 1 == end || isSlash(path.charAt(next + 1));
  }

  /** Chromium's DoPath/DoPartialPath over the whole of {@code path}; null when a NUL makes it invalid. */
  private static String rewrite(String path) {
    int end = path.length();
    StringBuilder out = new StringBuilder(end + 8);
    if (end == 0 || !isSlash(path.charAt(0))) {
      out.append('/');
    }
    int lastInvalidPercent = Integer.MIN_VALUE;
    boolean valid = true;
    for (int i = 0; i < end; i++) {
      char c = path.charAt(i);
      if (c > 0xff) {
        return null; // not a byte: no codec gives such a path
      }
      byte flags = TABLE[c];
      if ((flags & SPECIAL) == 0) {
        out.append(c);
        continue;
      }
      int dot = dotLength(path, i, end);
      if (dot > 0) {
        i = dot(path, i, dot, end, out);
      } else if (c == '\\') {
        out.append('/');
      } else if (c == '%') {
        int value = decodeEscaped(path, i, end);
        if (value < 0) { // not an escape: kept, but remembered so that "%%30" cannot become "%0" + "0"
          lastInvalidPercent = out.length();
          out.append('%');
          continue;
        }
        i += 2;
        byte unescaped = TABLE[value];
        if ((unescaped & UNESCAPE) != 0) {
          out.append((char) value);
          if (lastInvalidPercent >= out.length() - 3) {
            checkForNestedEscapes(path, i + 1, end, lastInvalidPercent, out);
          }
        } else {
          out.append('%').append(path.charAt(i - 1)).append(path.charAt(i)); // kept as sent, hex case too
          valid &= (unescaped & INVALID_BIT) == 0;
        }
      } else {
        appendEscaped(c, out);
        valid &= (flags & INVALID_BIT) == 0;
      }
    }
    return valid ? out.toString() : null;
  }

  /**
   * A dot of {@code length} (1, or 3 for {@code %2e}) at {@code i}: a {@code .} segment skipped, a {@code ..} segment
   * removing the previous one (never above the root), else a plain dot. Returns the index of its last input char.
   */
  private static int dot(String path, int i, int length, int end, StringBuilder out) {
    if (out.charAt(out.length() - 1) != '/') {
      out.append('.');
      return i + length - 1;
    }
    int after = i + length;
    if (after == end) {
      return after - 1; // "." at the end
    }
    if (isSlash(path.charAt(after))) {
      return after; // "./": the slash is consumed too
    }
    int second = dotLength(path, after, end);
    if (second > 0) {
      int afterSecond = after + second;
      if (afterSecond == end) {
        backUpToPreviousSlash(out);
        return afterSecond - 1;
      }
      if (isSlash(path.charAt(afterSecond))) {
        backUpToPreviousSlash(out);
        return afterSecond;
      }
    }
    out.append('.');
    return i + length - 1;
  }

  /** {@code out} ends with a slash: drop the last segment before it, stopping at the root. */
  private static void backUpToPreviousSlash(StringBuilder out) {
    int i = out.length() - 1;
    if (i == 0) {
      return;
    }
    i--;
    while (out.charAt(i) != '/' && i > 0) {
      i--;
    }
    out.setLength(i + 1);
  }

  /**
   * Chromium's CheckForNestedEscapes: a value just unescaped within two characters of an earlier '%' that began no
   * escape may have made one ({@code %%30} → {@code %0}); that '%' becomes {@code %25} so that the output cannot be
   * read differently when canonicalized again.
   */
  private static void checkForNestedEscapes(String path, int next, int end, int lastInvalidPercent,
      StringBuilder out) {
    int length = out.length();
    char lastUnescaped = out.charAt(length - 1);
    boolean appendNext = lastInvalidPercent == length - 2;
    if (appendNext) {
      if (next == end || path.charAt(next) >= 0x80) {
        return;
      }
      out.append(path.charAt(next));
    }
    if (decodeEscaped(out, lastInvalidPercent, out.length()) >= 0) {
      if (!appendNext) {
        out.append(out.charAt(lastInvalidPercent + 1));
      }
      out.setCharAt(lastInvalidPercent + 1, '2');
      out.setCharAt(lastInvalidPercent + 2, '5');
      out.append(lastUnescaped);
    } else if (appendNext) {
      out.setLength(length);
    }
  }

  /** 1 for '.', 3 for {@code %2e} / {@code %2E}, else 0. */
  private static int dotLength(String path, int i, int end) {
    char c = path.charAt(i);
    if (c == '.') {
      return 1;
    }
    if (c == '%' && i + 3 <= end && path.charAt(i + 1) == '2' && (path.charAt(i + 2) | 0x20) == 'e') {
      return 3;
    }
    return 0;
  }

  /** The byte escaped as {@code %XY} at {@code begin}, or -1 when the two characters after it are not hex. */
  private static int decodeEscaped(CharSequence s, int begin, int end) {
    if (begin < 0 || begin + 3 > end) {
      return -1;
    }
    int high = Character.digit(s.charAt(begin + 1), 16);
    int low = Character.digit(s.charAt(begin + 2), 16);
    return high < 0 || low < 0 || s.charAt(begin + 1) > 0x7f || s.charAt(begin + 2) > 0x7f ? -1 : high << 4 | low;
  }

  private static void appendEscaped(char c, StringBuilder out) {
    out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
  }

  private static boolean isSlash(char c) {
    return c == '/' || c == '\\';
  }
}
