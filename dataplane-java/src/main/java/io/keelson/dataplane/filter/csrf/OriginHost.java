package io.keelson.dataplane.filter.csrf;

/**
 * The host-and-port the CSRF filter compares, as Envoy's {@code hostAndPort} reads it from an Origin or Referer value:
 * the authority of an absolute URL ({@code scheme://[userinfo@]host[:port][/path...]}, userinfo left out, the port
 * as written), or the whole value when it is not one (a bare host, {@code null}). Found in place: a span of the value
 * packed into a long, so a request costs no allocation. Stateless.
 */
final class OriginHost {
  private OriginHost() {}

  /** The span {@code [from, to)} of {@code value}'s host-and-port, packed as {@code from << 32 | to}. */
  static long span(String value) {
    int sep = value.indexOf("://");
    if (sep <= 0 || !scheme(value, sep)) {
      return whole(value);
    }
    int from = sep + 3;
    int to = from;
    while (to < value.length()) {
      char c = value.charAt(to);
      if (c == '/' || c == '?' || c == '#') {
        break;
      }
      if (!authority(c)) {
        return whole(value); // not a URL Envoy's parser accepts: the raw value is compared
      }
      to++;
    }
    int at = value.lastIndexOf('@', to - 1);
    if (at >= from) {
      from = at + 1;
    }
    return from == to ? whole(value) : pack(from, to);
  }

  static int from(long span) {
    return (int) (span >>> 32);
  }

  static int to(long span) {
    return (int) span;
  }

  /** The host-and-port as a string (tests and diagnostics; the filter compares spans in place). */
  static String of(String value) {
    long s = span(value);
    return value.substring(from(s), to(s));
  }

  /**
   * RFC 3986's authority characters: unreserved, pct-encoded's {@code %}, sub-delims, {@code :}, {@code @} and the IP
   * literal's brackets. Anything else ({@code \}, {@code "}, space, non-ASCII, ...) makes Envoy's URL parser fail,
   * and a lenient split at {@code @} would read {@code http://evil.com\@example.com} as same-origin.
   */
  private static boolean authority(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || "-._~%!$&'()*+,;=:@[]".indexOf(c) >= 0;
  }

  private static boolean scheme(String value, int end) {
    for (int i = 0; i < end; i++) {
      char c = value.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static long whole(String value) {
    return pack(0, value.length());
  }

  private static long pack(int from, int to) {
    return ((long) from << 32) | to;
  }
}
