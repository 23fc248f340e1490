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
}
