package io.keelson.dataplane.edge;

import io.keelson.dataplane.config.PathNormalization;
import io.keelson.dataplane.config.PathNormalization.EscapedSlashes;

/**
 * A request path as Envoy's connection manager normalizes it before any filter or route sees it
 * ({@code ConnectionManagerUtility::maybeNormalizePath}): escaped slashes first ({@code path_with_escaped_slashes_action}),
 * then RFC 3986 ({@code normalize_path}, {@link PathCanonicalizer}), then {@code merge_slashes}. Paths are without
 * their query, which is never touched. An already normal path costs one scan per step and no allocation. Stateless.
 */
public final class PathNormalizer {
  private PathNormalizer() {}

  /**
   * The connection manager's decision on a request's path (without query) before filters and routes: 400 for a
   * fragment, which no client may send (Envoy's http_reject_path_with_fragment; the HTTP/1.1 parser refuses it
   * already, HTTP/2's {@code :path} reaches here); then, unless CONNECT or {@code *}, normalized by {@code config}: 400
   * when it refuses the path, 307 to the unescaped path (400 for gRPC calls, which do not follow redirects), else
   * forwarded, normalized when that changed it.
   */
  public static PathDecision decide(PathNormalization config, String method, String path, String query,
      String contentType) {
    if (path.indexOf('#') >= 0 || query != null && query.indexOf('#') >= 0) {
      return PathDecision.FRAGMENT;
    }
    if (config.isNone() || method.equals("CONNECT") || path.equals("*")) {
      return PathDecision.UNCHANGED;
    }
    String normalized = normalize(config, path);
    if (normalized == null) {
      return PathDecision.REFUSED;
    }
    if (redirects(config, path)) {
      return isGrpc(contentType) ? PathDecision.REFUSED
          : new PathDecision(307, query == null ? normalized : normalized + "?" + query);
    }
    return normalized == path ? PathDecision.UNCHANGED : new PathDecision(0, normalized);
  }

  /**
   * {@code path} (without query) normalized by {@code config}: the same instance when nothing changed, null when the
   * request must be refused with 400 (a NUL under normalize_path, or an escaped slash under REJECT_REQUEST).
   */
  public static String normalize(PathNormalization config, String path) {
    String p = path;
    EscapedSlashes escaped = config.escapedSlashes();
    if (escaped == EscapedSlashes.REJECT_REQUEST) {
      if (escapedSlashAt(p) >= 0) {
        return null;
      }
    } else if (escaped != EscapedSlashes.KEEP_UNCHANGED) {
      p = unescapeSlashes(p);
    }
    if (config.normalizePath()) {
      p = PathCanonicalizer.canonicalize(p);
      if (p == null) {
        return null;
      }
    }
    return config.mergeSlashes() ? mergeSlashes(p) : p;
  }

  /**
   * UNESCAPE_AND_REDIRECT and {@code path} (as sent, without query) holds an escaped slash: the client is answered
   * 307 to the normalized path (gRPC calls 400, as Envoy: gRPC clients do not follow redirects).
   */
  public static boolean redirects(PathNormalization config, String path) {
    return config.escapedSlashes() == EscapedSlashes.UNESCAPE_AND_REDIRECT && escapedSlashAt(path) >= 0;
  }

  /**
   * Envoy's {@code Grpc::Common::hasGrpcContentType}: {@code application/grpc} exactly or {@code application/grpc+...}
   * (not gRPC-Web). Such a call is refused with 400 where the path would be redirected: gRPC clients do not follow.
   */
  public static boolean isGrpc(String contentType) {
    return contentType != null && contentType.startsWith("application/grpc")
        && (contentType.length() == 16 || contentType.charAt(16) == '+');
  }

  /** Envoy's PathUtil::unescapeSlashes: {@code %2F %2f} become '/', {@code %5C %5c} '\'; the same instance if none. */
  static String unescapeSlashes(String path) {
    int at = escapedSlashAt(path);
    if (at < 0) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length()).append(path, 0, at);
    for (int i = at; i < path.length(); i++) {
      char c = path.charAt(i);
      char slash = c == '%' ? escapedSlash(path, i) : 0;
      if (slash != 0) {
        out.append(slash);
        i += 2;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /**
   * Envoy's PathUtil::mergeSlashes: the non-empty segments joined by single slashes, with one leading and one
   * trailing slash when the path had them (so a path of slashes only becomes {@code //}, as in Envoy); the same
   * instance when no two slashes are adjacent.
   */
  static String mergeSlashes(String path) {
    if (!path.contains("//")) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length());
    if (path.startsWith("/")) {
      out.append('/');
    }
    boolean first = true;
    int i = 0;
    while (i < path.length()) {
      int slash = path.indexOf('/', i);
      int segmentEnd = slash < 0 ? path.length() : slash;
      if (segmentEnd > i) {
        if (!first) {
          out.append('/');
        }
        out.append(path, i, segmentEnd);
        first = false;
      }
      i = segmentEnd + 1;
    }
    if (path.endsWith("/")) {
      out.append('/');
    }
    return out.toString();
  }

  /** Where the first {@code %2F %2f %5C %5c} starts, or -1. */
  private static int escapedSlashAt(String path) {
    for (int i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
      if (escapedSlash(path, i) != 0) {
        return i;
      }
    }
    return -1;
  }

  /** The slash escaped at {@code i} ('%' there), or 0 when none is. */
  private static char escapedSlash(String path, int i) {
    if (i + 2 >= path.length()) {
      return 0;
    }
    char a = path.charAt(i + 1);
    char b = (char) (path.charAt(i + 2) | 0x20);
    return a == '2' && b == 'f' ? '/' : a == '5' && b == 'c' ? '\\' : 0;
  }
}
