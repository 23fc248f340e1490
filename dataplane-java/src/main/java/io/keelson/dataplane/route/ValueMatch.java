package io.keelson.dataplane.route;

import java.util.regex.Pattern;

/**
 * Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case) over a region of
 * a string, so callers can match a query parameter in place. Immutable and thread-safe; matching
 * allocates nothing.
 */
public sealed interface ValueMatch {

  /** Matches {@code s[from, to)}. */
  boolean matches(String s, int from, int to);

  default boolean matches(String s) {
    return matches(s, 0, s.length());
  }

  static ValueMatch exact(String value, boolean ignoreCase) {
    return new Exact(value, ignoreCase);
  }

  static ValueMatch prefix(String value, boolean ignoreCase) {
    return new Prefix(value, ignoreCase);
  }

  static ValueMatch suffix(String value, boolean ignoreCase) {
    return new Suffix(value, ignoreCase);
  }

  static ValueMatch contains(String value, boolean ignoreCase) {
    return new Contains(value, ignoreCase);
  }

  /** The whole value must match. */
  static ValueMatch regex(Pattern pattern) {
    return new Regex(new RegexMatch(pattern));
  }

  record Exact(String value, boolean ignoreCase) implements ValueMatch {
    @Override
    public boolean matches(String s, int from, int to) {
      return to - from == value.length() && s.regionMatches(ignoreCase, from, value, 0, value.length());
    }
  }

  record Prefix(String value, boolean ignoreCase) implements ValueMatch {
    @Override
    public boolean matches(String s, int from, int to) {
      return to - from >= value.length() && s.regionMatches(ignoreCase, from, value, 0, value.length());
    }
  }

  record Suffix(String value, boolean ignoreCase) implements ValueMatch {
    @Override
    public boolean matches(String s, int from, int to) {
      int n = value.length();
      return to - from >= n && s.regionMatches(ignoreCase, to - n, value, 0, n);
    }
  }

  record Contains(String value, boolean ignoreCase) implements ValueMatch {
    @Override
    public boolean matches(String s, int from, int to) {
      int n = value.length();
      for (int i = from, last = to - n; i <= last; i++) {
        if (s.regionMatches(ignoreCase, i, value, 0, n)) {
          return true;
        }
      }
      return false;
    }
  }

  /** Holds the compiled regex; equality is by pattern text. */
  final class Regex implements ValueMatch {
    private final RegexMatch regex;

    Regex(RegexMatch regex) {
      this.regex = regex;
    }

    @Override
    public boolean matches(String s, int from, int to) {
      return regex.matches(s, from, to);
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
