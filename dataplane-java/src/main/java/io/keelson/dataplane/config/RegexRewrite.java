package io.keelson.dataplane.config;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Envoy's {@code RouteAction.regex_rewrite}: every match of {@code pattern} in the path (without the
 * query string) is replaced by the substitution, as RE2's GlobalReplace does. The substitution is
 * RE2's rewrite string: {@code \0}..{@code \9} insert a capture group (empty when the group did not
 * take part), {@code \\} a backslash; every other character is literal ({@code $} included).
 *
 * <p>Parsed once at config time into literal pieces and group numbers (not a java.util.regex
 * replacement string, where {@code $12} would read group 12 where RE2's {@code \12} is group 1 and a
 * "2"). Immutable and thread-safe; equal when pattern and substitution are.
 */
public final class RegexRewrite {
  private final Pattern pattern;
  private final String substitution;
  /** literals[i] comes before groups[i]; the last literal ends the substitution. */
  private final String[] literals;
  private final int[] groups;

  private RegexRewrite(Pattern pattern, String substitution, String[] literals, int[] groups) {
    this.pattern = pattern;
    this.substitution = substitution;
    this.literals = literals;
    this.groups = groups;
  }

  /**
   * Checks the substitution against the compiled pattern (RE2's CheckRewriteString, plus what a path
   * may hold) and parses it.
   *
   * @throws IllegalArgumentException saying what is wrong with the substitution
   */
  public static RegexRewrite of(Pattern pattern, String substitution) {
    List<String> literals = new ArrayList<>();
    List<Integer> groups = new ArrayList<>();
    StringBuilder literal = new StringBuilder();
    int groupCount = pattern.matcher("").groupCount();
    for (int i = 0; i < substitution.length(); i++) {
      char c = substitution.charAt(i);
      if (c == '\\') {
        char next = i + 1 < substitution.length() ? substitution.charAt(i + 1) : 0;
        i++;
        if (next >= '0' && next <= '9') {
          int n = next - '0';
          if (n > groupCount) {
            throw new IllegalArgumentException("\\" + n + " refers to capture group " + n + " but the pattern has "
                + groupCount + (groupCount == 1 ? " group" : " groups") + " (RE2 would leave the path unchanged)");
          }
          literals.add(literal.toString());
          literal.setLength(0);
          groups.add(n);
        } else if (next == '\\') {
          literal.append('\\');
        } else {
          throw new IllegalArgumentException(next == 0
              ? "ends with a lone '\\'; expected \\0-\\9 or \\\\"
              : "'\\" + next + "' is not a valid escape; expected \\0-\\9 (a capture group) or \\\\ (a backslash)");
        }
        continue;
      }
      if (c == '?' || c == '#') {
        throw new IllegalArgumentException("holds '" + c + "'; regex_rewrite replaces the path only (the query is kept)");
      }
      if (c <= 0x20 || c >= 0x7f) {
        throw new IllegalArgumentException("holds a character not allowed in a path (code " + (int) c
            + "); expected percent-encoding");
      }
      literal.append(c);
    }
    literals.add(literal.toString());
    return new RegexRewrite(pattern, substitution, literals.toArray(String[]::new),
        groups.stream().mapToInt(Integer::intValue).toArray());
  }

  public Pattern pattern() {
    return pattern;
  }

  public String substitution() {
    return substitution;
  }

  /**
   * The path with every match replaced; {@code path} itself when nothing matches. As RE2's
   * GlobalReplace, an empty match right where the previous match ended is skipped. A result that is
   * empty becomes {@code /} (a request needs a path).
   *
   * @param path the path without the query string
   */
  public String apply(String path) {
    Matcher m = pattern.matcher(path);
    if (!m.find()) {
      return path;
    }
    StringBuilder out = new StringBuilder(path.length() + 16);
    int copied = 0;
    int lastEnd = -1;
    do {
      int start = m.start();
      int end = m.end();
      if (start == end && start == lastEnd) {
        continue; // RE2: no empty match at the end of the previous match
      }
      out.append(path, copied, start);
      for (int i = 0; i < groups.length; i++) {
        out.append(literals[i]);
        String g = m.group(groups[i]);
        if (g != null) {
          out.append(g);
        }
      }
      out.append(literals[groups.length]);
      copied = end;
      lastEnd = end;
    } while (m.find());
    out.append(path, copied, path.length());
    return out.isEmpty() ? "/" : out.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RegexRewrite r && r.pattern.pattern().equals(pattern.pattern()) && r.substitution.equals(substitution);
  }

  @Override
  public int hashCode() {
    return pattern.pattern().hashCode() * 31 + substitution.hashCode();
  }

  @Override
  public String toString() {
    return "RegexRewrite[" + pattern.pattern() + " -> " + substitution + "]";
  }
}
