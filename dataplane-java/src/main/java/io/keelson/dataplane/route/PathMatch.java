package io.keelson.dataplane.route;

import java.util.regex.Pattern;

/**
 * The path part of an Envoy RouteMatch ({@code path}, {@code prefix}, {@code path_separated_prefix},
 * {@code safe_regex}), applied to the path without its query string. Immutable and thread-safe;
 * matching allocates nothing.
 */
public sealed interface PathMatch {

  boolean matches(String path);

  /** Characters of {@code path} the match consumed (for prefix_rewrite), or -1 when it does not match. */
  int matchedPrefixLength(String path);

  static PathMatch exact(String path, boolean caseSensitive) {
    return new Exact(path, caseSensitive);
  }

  static PathMatch prefix(String prefix, boolean caseSensitive) {
    return new Prefix(prefix, caseSensitive);
  }

  /** Envoy's path_separated_prefix: the path equals the prefix or continues with '/'. */
  static PathMatch separatedPrefix(String prefix, boolean caseSensitive) {
    return new SeparatedPrefix(prefix, caseSensitive);
  }

  /** The whole path must match (Envoy ignores case_sensitive for regexes). */
  static PathMatch regex(Pattern pattern) {
    return new Regex(new RegexMatch(pattern));
  }

  /**
   * Envoy's connect_matcher: matches every CONNECT request (whose path is its authority) and nothing else. The
   * method is checked where routes are looked up ({@link CompiledRoutes}, {@link RequestMatcher}).
   */
  static PathMatch connect() {
    return Connect.INSTANCE;
  }

  /** See {@link #connect()}. */
  enum Connect implements PathMatch {
    INSTANCE;

    @Override
    public boolean matches(String p) {
      return true;
    }

    @Override
    public int matchedPrefixLength(String p) {
      return -1;
    }
  }

  record Exact(String path, boolean caseSensitive) implements PathMatch {
    @Override
    public boolean matches(String p) {
      return p.length() == path.length() && p.regionMatches(!caseSensitive, 0, path, 0, path.length());
    }

    @Override
    public int matchedPrefixLength(String p) {
      return matches(p) ? p.length() : -1;
    }
  }

  record Prefix(String prefix, boolean caseSensitive) implements PathMatch {
    @Override
    public boolean matches(String p) {
      return p.regionMatches(!caseSensitive, 0, prefix, 0, prefix.length());
    }

    @Override
    public int matchedPrefixLength(String p) {
      return matches(p) ? prefix.length() : -1;
    }
  }

  record SeparatedPrefix(String prefix, boolean caseSensitive) implements PathMatch {
    @Override
    public boolean matches(String p) {
      int n = prefix.length();
      return p.regionMatches(!caseSensitive, 0, prefix, 0, n)
          && (p.length() == n || p.charAt(n) == '/');
    }

    @Override
    public int matchedPrefixLength(String p) {
      return matches(p) ? prefix.length() : -1;
    }
  }

  /** Holds the compiled regex; equality is by pattern text. */
  final class Regex implements PathMatch {
    private final RegexMatch regex;

    Regex(RegexMatch regex) {
      this.regex = regex;
    }

    @Override
    public boolean matches(String p) {
      return regex.matches(p, 0, p.length());
    }

    @Override
    public int matchedPrefixLength(String p) {
      return matches(p) ? p.length() : -1;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Regex r && r.regex.pattern().equals(regex.pattern());
    }

    @Override
    public int hashCode() {
      return regex.pattern().hashCode();
    }

    @Override
    public String toString() {
      return "Regex[" + regex.pattern() + "]";
    }
  }
}
