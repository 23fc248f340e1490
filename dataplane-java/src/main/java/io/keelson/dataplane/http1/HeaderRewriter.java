package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.http1.codec.Http1Headers;
import java.util.List;

/**
 * Header rules a proxy applies on every hop: hop-by-hop headers out (RFC 9110 §7.6.1, including those
 * the Connection header names), then Envoy's header mutations. Stateless.
 */
final class HeaderRewriter {
  private HeaderRewriter() {}

  /** One pass over the headers; the common Connection values need no tokenizing. */
  static void removeHopByHop(Http1Headers headers) {
    String connection = headers.get("connection");
    if (connection != null && !connection.equalsIgnoreCase("keep-alive") && !connection.equalsIgnoreCase("close")) {
      removeNamedByConnection(headers, headers.getAll("connection"));
    }
    for (int i = headers.size() - 1; i >= 0; i--) {
      if (isHopByHop(headers.name(i))) {
        headers.removeAt(i);
      }
    }
  }

  /** Hop-by-hop headers (RFC 9110 §7.6.1 and the legacy ones) never cross the proxy; framing is re-done per side. */
  static boolean isHopByHop(String name) {
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

  /** Removes each header named in the Connection header's comma-separated tokens. */
  private static void removeNamedByConnection(Http1Headers headers, String connection) {
    int start = 0;
    int n = connection.length();
    while (start < n) {
      int comma = connection.indexOf(',', start);
      int end = comma < 0 ? n : comma;
      String token = connection.substring(start, end).trim();
      if (!token.isEmpty() && !token.equalsIgnoreCase("close") && !token.equalsIgnoreCase("keep-alive")) {
        headers.remove(token.toLowerCase(java.util.Locale.ROOT));
      }
      start = end + 1;
    }
  }

  /** Applies removals, then additions (append or overwrite), as Envoy does. */
  static void apply(Http1Headers headers, HeaderMutations mutations) {
    if (mutations == null || mutations.isEmpty()) {
      return;
    }
    List<String> remove = mutations.remove();
    for (int i = 0; i < remove.size(); i++) {
      headers.remove(remove.get(i));
    }
    List<HeaderMutations.HeaderValue> add = mutations.add();
    for (int i = 0; i < add.size(); i++) {
      HeaderMutations.HeaderValue h = add.get(i);
      if (h.append()) {
        headers.add(h.name(), h.value());
      } else {
        headers.set(h.name(), h.value());
      }
    }
  }
}
