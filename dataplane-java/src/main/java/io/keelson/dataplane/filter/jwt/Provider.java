package io.keelson.dataplane.filter.jwt;

import io.keelson.dataplane.route.RequestHead;
import java.util.List;

/**
 * One {@code JwtProvider}, compiled: where its tokens are ({@code from_headers}, {@code from_params}, {@code from_cookies};
 * by default {@code Authorization: Bearer} and {@code access_token}), who issues them, for whom, and
 * their keys (inline, or a shared {@link RemoteJwks}). Immutable and thread-safe.
 *
 * @param issuer             required {@code iss}, or null for any
 * @param audiences          allowed {@code aud} values, {@link #normalize normalized} (one must be in the token), empty for any
 * @param localKeys          the inline JWKS, or null when {@code remote} is set
 * @param forward            keep the token in the forwarded request (false: its header is removed)
 * @param payloadHeader      header to forward the verified payload (base64url) in, or null
 * @param payloadInMetadata  key of the payload under {@code envoy.filters.http.jwt_authn} metadata, or null
 * @param cookies            {@code from_cookies}: cookie names carrying the token, looked at after headers and params
 * @param claimHeaders       {@code claim_to_headers}: request headers set from the verified token's claims
 * @param clearRouteCache    {@code clear_route_cache}: once its token verified and left metadata or claim headers, the
 *                           request's route is chosen again (claim-based routing)
 */
record Provider(String name, String issuer, List<String> audiences, List<Jwk> localKeys, RemoteJwks remote,
    List<Location> headers, List<String> params, boolean forward, String payloadHeader, String payloadInMetadata,
    long clockSkewSeconds, boolean requireExpiration, VerifiedTokens verified, List<String> cookies,
    List<ClaimHeader> claimHeaders, boolean clearRouteCache) {

  /** A header carrying the token after {@code prefix} (e.g. {@code Bearer }); empty prefix = the whole value. */
  record Location(String header, String prefix) {}

  /**
   * {@code header} (lower case) gets the value of {@code claim} ({@code a.b} names a nested claim; {@code path} is its
   * parts, split once at configuration time).
   */
  record ClaimHeader(String header, String claim, List<String> path) {
    ClaimHeader(String header, String claim) {
      this(header, claim, List.of(claim.split("\\.", -1)));
    }
  }

  /**
   * The claim's value as Envoy writes it into a header (a string as is, a number or boolean as text), or null when
   * the token has no such claim, it is an object or a list, or a header cannot carry it (control characters, or
   * characters beyond Latin-1: never a smuggled header line, and the request is not refused for it).
   */
  static String claim(java.util.Map<String, Object> payload, List<String> path) {
    Object v = payload;
    for (int i = 0; i < path.size(); i++) {
      String part = path.get(i);
      if (!(v instanceof java.util.Map<?, ?> m)) {
        return null;
      }
      v = m.get(part);
    }
    String out = null;
    if (v instanceof String || v instanceof Boolean) {
      out = v.toString();
    } else if (v instanceof Number n) {
      double d = n.doubleValue();
      out = d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : n.toString();
    }
    return out != null && headerSafe(out) ? out : null;
  }

  /** A value a header can carry as it is: no control characters (CR, LF, NUL...) and nothing above Latin-1. */
  private static boolean headerSafe(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
        return false;
      }
    }
    return true;
  }

  static final List<Location> DEFAULT_HEADERS = List.of(new Location("authorization", "Bearer "));
  static final List<String> DEFAULT_PARAMS = List.of("access_token");

  /** The request's token for this provider, or null; {@code from} gets the header it came from (null for a parameter). */
  String extract(RequestHead head, String[] from) {
    for (Location l : headers) {
      String v = head.header(l.header());
      if (v == null) {
        continue;
      }
      if (l.prefix().isEmpty()) {
        from[0] = l.header();
        return v.trim();
      }
      int at = indexOfIgnoreCase(v, l.prefix());
      if (at >= 0) {
        int start = at + l.prefix().length();
        int end = start;
        while (end < v.length() && v.charAt(end) != ',' && v.charAt(end) != ' ') {
          end++;
        }
        from[0] = l.header();
        return v.substring(start, end);
      }
    }
    String q = head.query();
    if (q != null && !params.isEmpty()) {
      for (String p : params) {
        String v = param(q, p);
        if (v != null) {
          from[0] = null;
          return v;
        }
      }
    }
    String cookieHeader = cookies.isEmpty() ? null : head.header("cookie");
    if (cookieHeader != null) {
      for (String c : cookies) {
        String v = cookie(cookieHeader, c);
        if (v != null) {
          from[0] = null; // a cookie is never removed from the forwarded request (Envoy's forward applies to headers)
          return v;
        }
      }
    }
    return null;
  }

  /** The token in cookie {@code name}, or null when there is none or it is empty (a cleared cookie: no token). */
  static String cookie(String header, String name) {
    String v = io.keelson.dataplane.route.Cookies.value(header, name);
    return v == null || v.isEmpty() ? null : v;
  }

  private static int indexOfIgnoreCase(String v, String prefix) {
    for (int i = 0; i + prefix.length() <= v.length(); i++) {
      if (v.regionMatches(true, i, prefix, 0, prefix.length())) {
        return i;
      }
    }
    return -1;
  }

  private static String param(String query, String name) {
    int at = 0;
    while (at < query.length()) {
      int amp = query.indexOf('&', at);
      int end = amp < 0 ? query.length() : amp;
      if (end - at > name.length() && query.charAt(at + name.length()) == '=' && query.startsWith(name, at)) {
        return java.net.URLDecoder.decode(query.substring(at + name.length() + 1, end), java.nio.charset.StandardCharsets.UTF_8);
      }
      at = end + 1;
    }
    return null;
  }

  /** The current keys, or null while a remote JWKS has not been fetched. */
  List<Jwk> keys() {
    return remote != null ? remote.keys() : localKeys;
  }

  /**
   * Checks a parsed token in Envoy's order: issuer, times, audiences, keys, signature; a token whose
   * signature these keys verified before ({@link #verified}) is not verified again.
   */
  JwtStatus check(String token, Jwt jwt, long nowSeconds, List<String> audiencesOverride) {
    if (issuer != null && !issuer.equals(jwt.iss())) {
      return JwtStatus.UNKNOWN_ISSUER;
    }
    if (jwt.exp() < 0 && requireExpiration) {
      return JwtStatus.EXP_MISSING;
    }
    if (jwt.exp() >= 0 && nowSeconds > jwt.exp() + clockSkewSeconds) {
      return JwtStatus.EXPIRED;
    }
    if (jwt.nbf() >= 0 && nowSeconds + clockSkewSeconds < jwt.nbf()) {
      return JwtStatus.NOT_YET_VALID;
    }
    List<String> allowed = audiencesOverride != null ? audiencesOverride : audiences;
    if (!allowed.isEmpty() && jwt.aud().stream().noneMatch(a -> allowed.contains(normalize(a)))) {
      return JwtStatus.AUDIENCE_NOT_ALLOWED;
    }
    List<Jwk> keys = keys();
    if (keys == null) {
      return JwtStatus.JWKS_FETCH_FAILED;
    }
    if (verified.get(token, keys) == jwt) {
      return JwtStatus.OK;
    }
    JwtStatus s = jwt.verify(keys);
    if (s == JwtStatus.OK) {
      verified.put(token, jwt, keys);
    }
    return s;
  }

  /** Envoy compares audiences without their scheme and trailing slash; configured ones are stored normalized. */
  static String normalize(String aud) {
    String a = aud.startsWith("https://") ? aud.substring(8) : aud.startsWith("http://") ? aud.substring(7) : aud;
    return a.endsWith("/") ? a.substring(0, a.length() - 1) : a;
  }
}
