package io.keelson.dataplane.edge;

import io.keelson.dataplane.http1.codec.Http1Headers;
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
  public static boolean isHopByHop(String name) {
    return switch (name.length()) {
      case 2 -> name.equalsIgnoreCase("te");
      case 7 -> name.equalsIgnoreCase("trailer") || name.equalsIgnoreCase("upgrade");
      case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 16 -> name.equalsIgnoreCase("proxy-connection");
      case 17 -> name.equalsIgnoreCase("transfer-encoding");
      case 18 -> name.equalsIgnoreCase("proxy-authenticate");
      case 19 -> name.equalsIgnoreCase("proxy-authorization");
      default -> false;
    };
  }

  /**
   * True when {@code name} is hop-by-hop: in the fixed set, or one of the comma-separated options of
   * {@code connection} (the message's Connection value(s) joined with ',', case and OWS ignored; null when it has none).
   */
  public static boolean isHopByHop(String name, String connection) {
    return isHopByHop(name) || connection != null && Http1Headers.listContains(connection, name);
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
}
