package io.keelson.dataplane.route;

/**
 * Reads one cookie from a request's Cookie header as the proxy holds it: pairs separated by {@code ;} and, where a
 * client sent several Cookie fields (HTTP/2 clients send one per cookie), by the {@code ,} they were joined with (a
 * cookie value holds neither, RFC 6265); a quoted value loses its quotes. Stateless.
 */
public final class Cookies {
  private Cookies() {}

  /** The value of the first cookie named {@code name} (possibly empty), or null when there is none. */
  public static String value(String header, String name) {
    if (header == null) {
      return null;
    }
    int at = 0;
    int len = header.length();
    while (at < len) {
      int end = at;
      while (end < len && header.charAt(end) != ';' && header.charAt(end) != ',') {
        end++;
      }
      int start = at;
      while (start < end && header.charAt(start) == ' ') {
        start++;
      }
      int eq = start + name.length();
      if (eq < end && header.charAt(eq) == '=' && header.startsWith(name, start)) {
        String v = header.substring(eq + 1, end).trim();
        return v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"' ? v.substring(1, v.length() - 1) : v;
      }
      at = end + 1;
    }
    return null;
  }

  /**
   * A Set-Cookie header line ({@code set-cookie: ...\r\n}) as Envoy writes the cookies it generates:
   * {@code name="value"; Max-Age=ttl; Path=path; HttpOnly}, without Max-Age for a ttl of 0 (a session cookie) and
   * without Path when {@code path} is null or empty.
   */
  public static String setCookieLine(String name, String value, long maxAgeSeconds, String path) {
    StringBuilder b = new StringBuilder(64).append("set-cookie: ").append(name).append("=\"").append(value).append('"');
    if (maxAgeSeconds != 0) {
      b.append("; Max-Age=").append(maxAgeSeconds);
    }
    if (path != null && !path.isEmpty()) {
      b.append("; Path=").append(path);
    }
    return b.append("; HttpOnly\r\n").toString();
  }
}
