package io.keelson.dataplane.config.envoy;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles an Envoy safe_regex (RE2 syntax) with java.util.regex, rejecting the constructs where the
 * two engines differ in meaning: RE2 has no backreferences, lookaround, atomic groups or possessive
 * quantifiers, and Java reads {@code &&} in a class and {@code \Z}, {@code \G} differently.
 * Stateless; public for the HTTP filters' own config (e.g. the CORS filter's allowed origins).
 */
public final class Re2Regex {
  private Re2Regex() {}

  /** The compiled pattern, or null after reporting why it cannot be used. */
  public static Pattern compile(String regex, String path, io.keelson.dataplane.filter.ConfigErrors problems) {
    String unsupported = unsupportedConstruct(regex);
    if (unsupported != null) {
      problems.error(path, "regex '" + regex + "' uses " + unsupported
          + ", which RE2 (Envoy's regex engine) does not accept; expected RE2 syntax");
      return null;
    }
    try {
      // RE2 spells named groups (?P<name>...); Java (?<name>...).
      return Pattern.compile(regex.replace("(?P<", "(?<"));
    } catch (PatternSyntaxException e) {
      problems.error(path, "regex '" + regex + "' is invalid: " + e.getDescription() + " near index " + e.getIndex());
      return null;
    }
  }

  static String unsupportedConstruct(String regex) {
    boolean inClass = false;
    for (int i = 0; i < regex.length(); i++) {
      char c = regex.charAt(i);
      char next = i + 1 < regex.length() ? regex.charAt(i + 1) : 0;
      if (c == '\\') {
        if (next >= '1' && next <= '9') {
          return "a backreference (\\" + next + ")";
        }
        if (next == 'k') {
          return "a named backreference (\\k)";
        }
        if (next == 'Z' || next == 'G' || next == 'R' || next == 'X') {
          return "\\" + next;
        }
        i++;
        continue;
      }
      if (inClass) {
        if (c == ']') {
          inClass = false;
        } else if (c == '&' && next == '&') {
          return "'&&' inside a character class (Java reads it as intersection)";
        } else if (c == '[') {
          return "a nested character class";
        }
        continue;
      }
      if (c == '[') {
        inClass = true;
        if (next == '^') {
          i++;
        }
        if (i + 1 < regex.length() && regex.charAt(i + 1) == ']') {
          i++; // a leading ']' is a literal
        }
        continue;
      }
      if (c == '(' && next == '?') {
        String rest = regex.substring(i + 2);
        if (rest.startsWith("=") || rest.startsWith("!")) {
          return "lookahead";
        }
        if (rest.startsWith("<=") || rest.startsWith("<!")) {
          return "lookbehind";
        }
        if (rest.startsWith(">")) {
          return "an atomic group";
        }
      }
      if ((c == '*' || c == '+' || c == '?' || c == '}') && next == '+') {
        return "a possessive quantifier (" + c + "+)";
      }
    }
    return null;
  }
}
