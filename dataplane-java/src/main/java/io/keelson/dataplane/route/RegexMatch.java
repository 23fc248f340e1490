package io.keelson.dataplane.route;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A whole-input regex match (Envoy's safe_regex semantics) that reuses one {@link Matcher} per
 * thread, so matching allocates nothing in steady state. Inputs that do not start with the
 * pattern's literal prefix (e.g. {@code /service/7/} of {@code /service/7/items/[0-9]+}) are
 * rejected before the regex engine runs: in a table of many regex routes most routes fail there.
 * Immutable and thread-safe.
 */
final class RegexMatch {
  private final Pattern pattern;
  private final String literalPrefix;
  private final ThreadLocal<Matcher> matchers;

  RegexMatch(Pattern pattern) {
    this.pattern = pattern;
    this.literalPrefix = literalPrefix(pattern);
    this.matchers = ThreadLocal.withInitial(() -> pattern.matcher(""));
  }

  boolean matches(String input, int from, int to) {
    int n = literalPrefix.length();
    if (n > 0 && (to - from < n || !input.startsWith(literalPrefix, from))) {
      return false;
    }
    Matcher m = matchers.get();
    m.reset(input);
    m.region(from, to);
    boolean matched = m.matches();
    // Do not keep the request's string reachable from a long-lived thread.
    m.reset("");
    return matched;
  }

  String pattern() {
    return pattern.pattern();
  }

  /**
   * The literal text every match must start with; empty when unsure (flags, alternation anywhere,
   * or a metacharacter first). A literal followed by a quantifier is not part of the prefix.
   */
  static String literalPrefix(Pattern pattern) {
    String p = pattern.pattern();
    if (pattern.flags() != 0 || p.indexOf('|') >= 0) {
      return "";
    }
    int start = p.startsWith("^") ? 1 : 0;
    StringBuilder prefix = new StringBuilder();
    for (int i = start; i < p.length(); i++) {
      char c = p.charAt(i);
      if ("\\.[]{}()*+?^$|".indexOf(c) >= 0) {
        if ((c == '*' || c == '?' || c == '{') && !prefix.isEmpty()) {
          prefix.setLength(prefix.length() - 1);
        }
        break;
      }
      prefix.append(c);
    }
    return prefix.toString();
  }
}
