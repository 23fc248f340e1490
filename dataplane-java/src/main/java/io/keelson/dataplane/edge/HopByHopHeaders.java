package io.keelson.dataplane.edge;

import java.util.Locale;

/**
 * The one definition of the header fields that belong to a single hop and never cross the proxy: RFC 9110 §7.6.1's
 * (Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade), the other legacy ones (Trailer,
 * Proxy-Authenticate, Proxy-Authorization), and every field the message's own Connection header names as a
 * connection option, as Envoy removes them. The HTTP/1.1 and HTTP/2 forwarding paths, request mirroring, ext_authz
 * and the upgrade answers all ask here; what a path keeps on purpose (TE: trailers for gRPC, framing it redoes) it
 * says itself. Stateless; the tests allocate nothing.
 */
public final class HopByHopHeaders {
  /** Lower-case names of the fixed set (without the Connection options), for removal by name. */
  private static final String[] NAMES = {"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding",
      "upgrade", "trailer", "proxy-authenticate", "proxy-authorization"};

  private HopByHopHeaders() {}

  /** True for a field of the fixed hop-by-hop set, case ignored. */
  public static boolean isHopByHop(CharSequence name) {
    return switch (name.length()) {
      case 2 -> is(name, "te");
      case 7 -> is(name, "trailer") || is(name, "upgrade");
      case 10 -> is(name, "connection") || is(name, "keep-alive");
      case 16 -> is(name, "proxy-connection");
      case 17 -> is(name, "transfer-encoding");
      case 18 -> is(name, "proxy-authenticate");
      case 19 -> is(name, "proxy-authorization");
      default -> false;
    };
  }

  /**
   * True when {@code name} is hop-by-hop: in the fixed set, or one of the comma-separated options of
   * {@code connection} (the message's Connection value(s) joined with ','; null when it has none).
   */
  public static boolean isHopByHop(CharSequence name, CharSequence connection) {
    return isHopByHop(name) || isConnectionOption(connection, name);
  }

  /** True when {@code name} equals one of the comma-separated elements of {@code connection}, case and OWS ignored. */
  public static boolean isConnectionOption(CharSequence connection, CharSequence name) {
    if (connection == null) {
      return false;
    }
    int n = connection.length();
    int start = 0;
    while (start < n) {
      int end = start;
      while (end < n && connection.charAt(end) != ',') {
        end++;
      }
      int from = start;
      int to = end;
      while (from < to && isOws(connection.charAt(from))) {
        from++;
      }
      while (to > from && isOws(connection.charAt(to - 1))) {
        to--;
      }
      if (to - from == name.length() && regionIs(connection, from, name)) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }

  /**
   * The Connection value(s) {@code connection} when they name a field outside the fixed set, else null (no Connection,
   * or the common {@code close} / {@code keep-alive} / {@code upgrade}): what to pass to {@link #isHopByHop(CharSequence,
   * CharSequence)} so the common case scans nothing.
   */
  public static String options(String connection) {
    return connection == null || namesOnlyFixedFields(connection) ? null : connection;
  }

  /**
   * Removes every hop-by-hop field from {@code headers}: first those the Connection header names (a Connection of only
   * {@code close} / {@code keep-alive} / {@code upgrade}, the common case, needs no tokenizing and allocates
   * nothing), then the fixed set.
   */
  public static <H> void removeFrom(H headers, HeaderAccess<H> access) {
    String connection = options(access.getAll(headers, "connection"));
    if (connection != null) {
      int n = connection.length();
      int start = 0;
      while (start < n) {
        int comma = connection.indexOf(',', start);
        int end = comma < 0 ? n : comma;
        String option = connection.substring(start, end).trim();
        if (!option.isEmpty() && !isHopByHop(option)) {
          access.remove(headers, option.toLowerCase(Locale.ROOT));
        }
        start = end + 1;
      }
    }
    for (String name : NAMES) {
      access.remove(headers, name);
    }
  }

  private static boolean namesOnlyFixedFields(String connection) {
    return connection.equalsIgnoreCase("close") || connection.equalsIgnoreCase("keep-alive")
        || connection.equalsIgnoreCase("upgrade");
  }

  private static boolean is(CharSequence name, String lower) {
    return regionIs(name, 0, lower) && name.length() == lower.length();
  }

  /** {@code s[from, from + other.length())} equals {@code other}, ASCII case ignored. */
  private static boolean regionIs(CharSequence s, int from, CharSequence other) {
    int n = other.length();
    if (s.length() - from < n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char a = s.charAt(from + i);
      char b = other.charAt(i);
      if (a != b && lower(a) != lower(b)) {
        return false;
      }
    }
    return true;
  }

  private static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
  }

  private static boolean isOws(char c) {
    return c == ' ' || c == '\t';
  }
}
