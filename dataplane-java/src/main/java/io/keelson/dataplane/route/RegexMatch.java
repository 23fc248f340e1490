package io.keelson.dataplane.route;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A whole-input regex match (Envoy's safe_regex semantics) that reuses one {@link Matcher} per
 * thread, so matching allocates nothing in steady state. Immutable and thread-safe.
 */
final class RegexMatch {
  private final Pattern pattern;
  private final ThreadLocal<Matcher> matchers;

  RegexMatch(Pattern pattern) {
    this.pattern = pattern;
    this.matchers = ThreadLocal.withInitial(() -> pattern.matcher(""));
  }

  boolean matches(String input, int from, int to) {
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
}
