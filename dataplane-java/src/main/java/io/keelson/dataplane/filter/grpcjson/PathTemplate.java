package io.keelson.dataplane.filter.grpcjson;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@code google.api.http} path template (google/api/http.proto), compiled once:
 * <pre>
 *   Template = "/" Segments [ ":" Verb ] ;   Segment = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;   "{f}" is "{f=*}"
 * </pre>
 * {@link #match} binds each variable to the request segments it covers, joined with '/', percent-decoded as Envoy's
 * default url_unescape_spec (ALL_CHARACTERS_EXCEPT_RESERVED) decodes them. {@code **} matches any number of segments,
 * including none. Immutable; thread-safe.
 */
final class PathTemplate {
  private static final String ANY = "*";
  private static final String ANY_DEEP = "**";

  /** One variable: its field path and the template segments [from, to) it covers. */
  record Variable(String fieldPath, int from, int to) {}

  private final String text;
  /** Literal segments, or {@link #ANY} / {@link #ANY_DEEP} (compared by identity). */
  private final String[] segments;
  private final Variable[] variables;
  private final String verb;

  private PathTemplate(String text, String[] segments, Variable[] variables, String verb) {
    this.text = text;
    this.segments = segments;
    this.variables = variables;
    this.verb = verb;
  }

  /** Parses {@code template}; throws {@link IllegalArgumentException} saying what is wrong. */
  static PathTemplate parse(String template) {
    if (!template.startsWith("/")) {
      throw new IllegalArgumentException("a path template starts with '/': " + template);
    }
    String body = template;
    String verb = null;
    int lastSlash = template.lastIndexOf('/');
    int colon = template.indexOf(':', lastSlash);
    if (colon >= 0 && template.indexOf('}', colon) < 0) {
      verb = template.substring(colon + 1);
      body = template.substring(0, colon);
      if (verb.isEmpty()) {
        throw new IllegalArgumentException("empty verb after ':' in " + template);
      }
    }
    List<String> segs = new ArrayList<>();
    List<Variable> vars = new ArrayList<>();
    int i = 1;
    while (i <= body.length()) {
      if (i < body.length() && body.charAt(i) == '{') {
        int close = body.indexOf('}', i);
        if (close < 0) {
          throw new IllegalArgumentException("unclosed '{' in " + template);
        }
        String inner = body.substring(i + 1, close);
        int eq = inner.indexOf('=');
        String field = eq < 0 ? inner : inner.substring(0, eq);
        if (!field.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*")) {
          throw new IllegalArgumentException("bad field path '" + field + "' in " + template);
        }
        int from = segs.size();
        if (eq < 0) {
          segs.add(ANY);
        } else {
          for (String s : inner.substring(eq + 1).split("/", -1)) {
            segs.add(segment(s, template));
          }
        }
        vars.add(new Variable(field, from, segs.size()));
        i = close + 1;
      } else {
        int end = body.indexOf('/', i);
        end = end < 0 ? body.length() : end;
        segs.add(segment(body.substring(i, end), template));
        i = end;
      }
      if (i < body.length() && body.charAt(i) != '/') {
        throw new IllegalArgumentException("expected '/' after a variable in " + template);
      }
      i++;
    }
    return new PathTemplate(template, segs.toArray(new String[0]), vars.toArray(new Variable[0]), verb);
  }

  private static String segment(String s, String template) {
    if (s.isEmpty() || s.indexOf('{') >= 0 || s.indexOf('}') >= 0) {
      throw new IllegalArgumentException("bad segment '" + s + "' in " + template);
    }
    return s.equals(ANY) ? ANY : s.equals(ANY_DEEP) ? ANY_DEEP : s;
  }

  /**
   * The variables' values when {@code path} (without the query) matches, in {@link #variables()} order, else null.
   */
  String[] match(String path) {
    if (path == null || !path.startsWith("/")) {
      return null;
    }
    String p = path;
    if (verb != null) {
      if (!p.endsWith(":" + verb) || p.lastIndexOf('/') > p.length() - verb.length() - 2) {
        return null;
      }
      p = p.substring(0, p.length() - verb.length() - 1);
    }
    String[] parts = p.substring(1).split("/", -1);
    int[] at = new int[segments.length + 1];
    if (!matchFrom(parts, 0, 0, at)) {
      return null;
    }
    String[] values = new String[variables.length];
    for (int v = 0; v < variables.length; v++) {
      Variable var = variables[v];
      StringBuilder sb = new StringBuilder();
      for (int k = at[var.from()]; k < at[var.to()]; k++) {
        if (k > at[var.from()]) {
          sb.append('/');
        }
        sb.append(parts[k]);
      }
      values[v] = PercentDecoding.exceptReserved(sb.toString());
    }
    return values;
  }

  /** Whether template segments from {@code si} match path parts from {@code pi}; records where each began in {@code at}. */
  private boolean matchFrom(String[] parts, int si, int pi, int[] at) {
    at[si] = pi;
    if (si == segments.length) {
      return pi == parts.length;
    }
    String s = segments[si];
    if (s == ANY_DEEP) {
      for (int end = parts.length; end >= pi; end--) {
        if (matchFrom(parts, si + 1, end, at)) {
          return true;
        }
      }
      return false;
    }
    if (pi == parts.length || parts[pi].isEmpty()) {
      return false;
    }
    return (s == ANY || s.equals(parts[pi])) && matchFrom(parts, si + 1, pi + 1, at);
  }

  Variable[] variables() {
    return variables.clone();
  }

  @Override
  public String toString() {
    return text;
  }
}
