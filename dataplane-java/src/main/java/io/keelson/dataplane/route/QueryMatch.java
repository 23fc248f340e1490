package io.keelson.dataplane.route;

/**
 * Envoy's QueryParameterMatcher: the first occurrence of the parameter must exist and, when a value
 * matcher is given, its (percent-decoded) value must match. Immutable and thread-safe; matching
 * scans the raw query in place and allocates only to decode a value that contains '%' or '+'.
 */
public final class QueryMatch {
  private final String name;
  private final ValueMatch value;

  private QueryMatch(String name, ValueMatch value) {
    this.name = name;
    this.value = value;
  }

  /** The parameter must be present (Envoy's present_match, or no matcher at all). */
  public static QueryMatch present(String name) {
    return new QueryMatch(name, null);
  }

  public static QueryMatch value(String name, ValueMatch value) {
    return new QueryMatch(name, value);
  }

  public boolean matches(RequestHead head) {
    String q = head.query();
    long at = q == null ? -1 : find(q, name);
    if (at < 0) {
      return false;
    }
    if (value == null) {
      return true;
    }
    int from = (int) (at >>> 32);
    int end = (int) at;
    return needsDecoding(q, from, end) ? value.matches(decode(q, from, end)) : value.matches(q, from, end);
  }

  /**
   * The first value of parameter {@code name} in the raw query {@code query} (null for none), percent- and
   * plus-decoded as Envoy decodes query values; {@code ""} for a parameter without {@code =}.
   */
  public static String firstValue(String query, String name) {
    long at = query == null ? -1 : find(query, name);
    if (at < 0) {
      return null;
    }
    int from = (int) (at >>> 32);
    int end = (int) at;
    return needsDecoding(query, from, end) ? decode(query, from, end) : query.substring(from, end);
  }

  /** Where the first value of {@code name} is in {@code q}: {@code from << 32 | end}, or -1 when absent. */
  private static long find(String q, String name) {
    int n = name.length();
    int start = 0;
    int len = q.length();
    while (start <= len) {
      int end = q.indexOf('&', start);
      if (end < 0) {
        end = len;
      }
      if (end - start >= n && q.startsWith(name, start) && (end - start == n || q.charAt(start + n) == '=')) {
        int from = end - start == n ? end : start + n + 1;
        return (long) from << 32 | end;
      }
      start = end + 1;
    }
    return -1;
  }

  private static boolean needsDecoding(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '%' || c == '+') {
        return true;
      }
    }
    return false;
  }

  /** application/x-www-form-urlencoded decoding, as Envoy decodes query values before matching. */
  static String decode(String s, int from, int to) {
    byte[] out = new byte[to - from];
    int o = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '+') {
        out[o++] = ' ';
      } else if (c == '%' && i + 2 < to && hex(s.charAt(i + 1)) >= 0 && hex(s.charAt(i + 2)) >= 0) {
        out[o++] = (byte) (hex(s.charAt(i + 1)) << 4 | hex(s.charAt(i + 2)));
        i += 2;
      } else if (c < 0x80) {
        out[o++] = (byte) c;
      } else {
        // Non-ASCII in a raw query is not valid; keep the characters as they are.
        return s.substring(from, to);
      }
    }
    return new String(out, 0, o, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return "QueryMatch[" + name + (value == null ? " present" : " " + value) + "]";
  }
}
