package io.keelson.dataplane.routing;

import io.keelson.dataplane.balance.XxHash64;
import io.keelson.dataplane.config.HashPolicy;
import io.keelson.dataplane.route.RequestHead;
import java.util.List;

/**
 * Envoy's hash_policy evaluation: each policy that finds its value hashes it (xxHash64); hashes are
 * combined as {@code rotl(hash, 1) ^ next}; a terminal policy that produced a hash ends the list.
 * Stateless.
 */
public final class RequestHash {
  /** No policy produced a hash (a real hash of 0 is mapped to 1). */
  static final long NONE = 0;
  private static final List<HashPolicy> SOURCE_IP = List.of(new HashPolicy(HashPolicy.Source.SOURCE_IP, null, false));

  private RequestHash() {}

  /**
   * The hash of a lone {@code source_ip} policy for a peer whose address text is {@code remoteIp} (never null): what an
   * HTTP route with that policy balances on, and what tcp_proxy's source-IP hashing uses, so both pick alike.
   */
  public static long ofSourceIp(String remoteIp) {
    return compute(SOURCE_IP, null, remoteIp);
  }

  static long compute(List<HashPolicy> policies, RequestHead head, String remoteIp) {
    return compute(policies, head, remoteIp, null);
  }

  /**
   * As above; with {@code event} (the routing event of a first try), a cookie policy with a ttl whose
   * cookie is absent generates the cookie, hashes it, and adds its Set-Cookie to the response.
   */
  static long compute(List<HashPolicy> policies, RequestHead head, String remoteIp, RoutingEvent event) {
    long hash = NONE;
    boolean any = false;
    for (int i = 0, n = policies.size(); i < n; i++) {
      HashPolicy p = policies.get(i);
      String value = switch (p.source()) {
        case HEADER -> head.header(p.name());
        case COOKIE -> cookie(head.header("cookie"), p.name());
        case SOURCE_IP -> remoteIp;
        case QUERY_PARAMETER -> queryParameter(head.query(), p.name());
      };
      if (value == null && event != null && p.generatesCookie()) {
        value = generateCookie(p, event);
      }
      if (value == null) {
        continue;
      }
      long h = XxHash64.hash(value);
      hash = any ? Long.rotateLeft(hash, 1) ^ h : h;
      any = true;
      if (p.terminal()) {
        break;
      }
    }
    return !any ? NONE : hash == NONE ? 1 : hash;
  }

  /**
   * Envoy's generated cookie: the hex xxHash64 of the connection's remote and local addresses (so every
   * request of one connection gets the same value), set as {@code name="value"; Max-Age=ttl; Path=path;
   * HttpOnly} on the response. Returns the value, which is what the request hashes.
   */
  static String generateCookie(HashPolicy p, RoutingEvent event) {
    String addresses = address(event.remoteAddress) + address(event.localAddress);
    String value = String.format("%016x", XxHash64.hash(addresses));
    event.policy.addResponseHeaders(setCookie(p, value));
    return value;
  }

  /** The Set-Cookie header line ({@code set-cookie: ...\r\n}) for a generated cookie. */
  static String setCookie(HashPolicy p, String value) {
    return io.keelson.dataplane.route.Cookies.setCookieLine(p.name(), value, p.cookieTtl().getSeconds(), p.cookiePath());
  }

  private static String address(java.net.InetSocketAddress a) {
    return a == null ? "" : a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  /** The value of cookie {@code name} in a Cookie header, or null. */
  static String cookie(String header, String name) {
    return io.keelson.dataplane.route.Cookies.value(header, name);
  }

  /** The (raw, undecoded) value of the first query parameter {@code name}, or null. */
  static String queryParameter(String query, String name) {
    if (query == null) {
      return null;
    }
    int at = 0;
    int len = query.length();
    while (at <= len) {
      int end = query.indexOf('&', at);
      if (end < 0) {
        end = len;
      }
      if (query.startsWith(name, at)) {
        int after = at + name.length();
        if (after == end) {
          return "";
        }
        if (query.charAt(after) == '=') {
          return query.substring(after + 1, end);
        }
      }
      at = end + 1;
    }
    return null;
  }
}
