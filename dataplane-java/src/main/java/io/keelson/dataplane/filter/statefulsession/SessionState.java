package io.keelson.dataplane.filter.statefulsession;

import io.keelson.dataplane.route.Cookies;
import io.keelson.dataplane.route.RequestHead;

/**
 * Where a stateful session keeps its upstream host: Envoy's {@code envoy.http.stateful_session.cookie} or
 * {@code envoy.http.stateful_session.header}. The value is the base64 of the host's address ({@code ip:port}, as
 * {@link SessionHosts} encodes it). Immutable.
 */
public sealed interface SessionState {

  /** The request's encoded host (possibly malformed), or null when it carries none. */
  String requestValue(RequestHead head);

  /** The response header line ({@code name: value\r\n}) telling the client its session's host is now {@code encoded}. */
  String line(String encoded);

  /** Whether {@link #line} replaces the upstream's header of its name (a header) or is added (a Set-Cookie). */
  boolean replacesUpstreams();

  /**
   * CookieBasedSessionState: {@code name="value"; Max-Age=ttl; Path=path; HttpOnly} as Envoy writes it (no Max-Age
   * for a ttl of 0, a session cookie; no Path when empty).
   */
  record Cookie(String name, String path, long ttlSeconds) implements SessionState {
    @Override
    public String requestValue(RequestHead head) {
      return Cookies.value(head.header("cookie"), name);
    }

    @Override
    public String line(String encoded) {
      return Cookies.setCookieLine(name, encoded, ttlSeconds, path);
    }

    @Override
    public boolean replacesUpstreams() {
      return false;
    }
  }

  /** HeaderBasedSessionState: the request header {@code name}, and the response header of that name set. */
  record Header(String name) implements SessionState {
    /**
     * Why {@code name} cannot carry a session (null: it can): a hop-by-hop field (it never crosses the proxy), the
     * message framing ({@code content-length}), {@code host}, {@code set-cookie} (a response header the session would
     * overwrite) or a pseudo-header. The control plane's label and the data plane's config refuse the same names.
     */
    public static String reservedProblem(String name) {
      String lower = name.toLowerCase(java.util.Locale.ROOT);
      if (lower.startsWith(":")) {
        return "is a pseudo-header";
      }
      if (io.keelson.dataplane.edge.HopByHopHeaders.isHopByHop(lower)) {
        return "is a hop-by-hop header (it never crosses the proxy)";
      }
      return switch (lower) {
        case "content-length" -> "frames the message body";
        case "host" -> "is the request's authority";
        case "set-cookie" -> "is the cookie response header";
        default -> null;
      };
    }


    @Override
    public String requestValue(RequestHead head) {
      return head.header(name);
    }

    @Override
    public String line(String encoded) {
      return name + ": " + encoded + "\r\n";
    }

    @Override
    public boolean replacesUpstreams() {
      return true;
    }
  }
}
