package io.keelson.dataplane.cel;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads the bounded subset of CEL (Common Expression Language) that Istio's and Envoy's expressions use in practice:
 * int, uint ({@code 5u}), string ({@code 'a'} or {@code "a"}, escapes {@code \\ \' \" \n \t}) and bool literals, names,
 * selections ({@code a.b}), indexes ({@code a['k']}), calls ({@code has(a.b)}, {@code a.startsWith('x')}), list
 * literals, {@code ! -}, {@code == != < <= > >=}, {@code in}, {@code && ||} and parentheses, with CEL's precedence.
 * Anything else (ternaries, arithmetic, maps, macros other than calls, comprehensions) is refused with the column and
 * what was expected. At most {@value #MAX_LENGTH} characters and {@value #MAX_DEPTH} levels of nesting. Stateless.
 */
public final class CelParser {
  public static final int MAX_LENGTH = 4096;
  public static final int MAX_DEPTH = 32;

  private final String text;
  private int pos;
  private int depth;

  private CelParser(String text) {
    this.text = text;
  }

  /** The syntax tree of {@code expression}; throws {@link CelSyntaxException} naming the column of the first problem. */
  public static CelNode parse(String expression) {
    if (expression == null || expression.isBlank()) {
      throw new CelSyntaxException(expression == null ? "" : expression, 1, "expected an expression, got nothing");
    }
    if (expression.length() > MAX_LENGTH) {
      throw new CelSyntaxException(expression.substring(0, 40) + "...", MAX_LENGTH + 1,
          "expected at most " + MAX_LENGTH + " characters");
    }
    CelParser p = new CelParser(expression);
    CelNode n = p.or();
    p.skipSpace();
    if (p.pos < expression.length()) {
      throw p.error("expected an operator (== != < <= > >= in && ||) or the end, got '" + p.rest() + "'");
    }
    return n;
  }

  private CelNode or() {
    CelNode left = and();
    while (consume("||")) {
      int at = pos - 1;
      left = new CelNode.Binary("||", left, and(), at);
    }
    return left;
  }

  private CelNode and() {
    CelNode left = relation();
    while (consume("&&")) {
      int at = pos - 1;
      left = new CelNode.Binary("&&", left, relation(), at);
    }
    return left;
  }

  private static final String[] RELATIONS = {"==", "!=", "<=", ">=", "<", ">"};

  private CelNode relation() {
    CelNode left = unary();
    skipSpace();
    int at = pos + 1;
    for (String op : RELATIONS) {
      if (consume(op)) {
        return new CelNode.Binary(op, left, unary(), at);
      }
    }
    if (keyword("in")) {
      return new CelNode.Binary("in", left, unary(), at);
    }
    if (peek() == '+' || peek() == '*' || peek() == '/' || peek() == '%' || (peek() == '-' && pos > 0)) {
      throw error("arithmetic is not supported; expected a comparison (== != < <= > >=), in, && or ||");
    }
    if (peek() == '?') {
      throw error("the conditional operator ?: is not supported; expected && and ||");
    }
    return left;
  }

  private CelNode unary() {
    skipSpace();
    int at = pos + 1;
    if (peek() == '!' && !text.startsWith("!=", pos)) {
      pos++;
      return new CelNode.Unary("!", nested(this::unary), at);
    }
    if (peek() == '-') {
      pos++;
      return new CelNode.Unary("-", nested(this::unary), at);
    }
    return member();
  }

  private CelNode member() {
    CelNode n = primary();
    while (true) {
      skipSpace();
      int at = pos + 1;
      if (peek() == '.') {
        pos++;
        String field = identifier("a field or method name after '.'");
        skipSpace();
        if (peek() == '(') {
          pos++;
          n = new CelNode.Call(n, field, arguments(')'), at);
        } else {
          n = new CelNode.Select(n, field, n.column()); // a selection chain starts where its first name does
        }
      } else if (peek() == '[') {
        pos++;
        CelNode key = nested(this::or);
        expect(']');
        n = new CelNode.Index(n, key, at);
      } else {
        return n;
      }
    }
  }

  private CelNode primary() {
    skipSpace();
    int at = pos + 1;
    char c = peek();
    if (c == '(') {
      pos++;
      CelNode n = nested(this::or);
      expect(')');
      return n;
    }
    if (c == '[') {
      pos++;
      return new CelNode.ListLiteral(arguments(']'), at);
    }
    if (c == '\'' || c == '"') {
      return new CelNode.Literal(string(), false, at);
    }
    if (c >= '0' && c <= '9') {
      return number();
    }
    if (Character.isLetter(c) || c == '_') {
      String name = identifier("a name");
      switch (name) {
        case "true" -> { return new CelNode.Literal(Boolean.TRUE, false, at); }
        case "false" -> { return new CelNode.Literal(Boolean.FALSE, false, at); }
        case "null" -> throw new CelSyntaxException(text, at, "null is not supported; expected has(...) to test presence");
        default -> { }
      }
      skipSpace();
      if (peek() == '(') {
        pos++;
        return new CelNode.Call(null, name, arguments(')'), at);
      }
      return new CelNode.Ident(name, at);
    }
    if (c == '{') {
      throw error("map literals are not supported; expected a literal, a name, '(' or '['");
    }
    throw error(pos >= text.length() ? "expected a literal, a name, '(' or '[', got the end"
        : "expected a literal, a name, '(' or '[', got '" + rest() + "'");
  }

  /** Comma-separated expressions up to {@code close}; the opening bracket was consumed. */
  private List<CelNode> arguments(char close) {
    List<CelNode> out = new ArrayList<>();
    skipSpace();
    if (peek() == close) {
      pos++;
      return out;
    }
    while (true) {
      out.add(nested(this::or));
      skipSpace();
      if (peek() == ',') {
        pos++;
        continue;
      }
      expect(close);
      return out;
    }
  }

  private CelNode nested(java.util.function.Supplier<CelNode> rule) {
    if (++depth > MAX_DEPTH) {
      throw error("expected at most " + MAX_DEPTH + " levels of nesting");
    }
    try {
      return rule.get();
    } finally {
      depth--;
    }
  }

  private CelNode number() {
    int at = pos + 1;
    int start = pos;
    while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
      pos++;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') {
      throw error("doubles are not supported; expected an integer");
    }
    if (text.startsWith("0x", start)) {
      throw new CelSyntaxException(text, at, "hexadecimal literals are not supported; expected a decimal integer");
    }
    boolean unsigned = peek() == 'u' || peek() == 'U';
    String digits = text.substring(start, pos);
    if (unsigned) {
      pos++;
    }
    try {
      return new CelNode.Literal(Long.parseLong(digits), unsigned, at);
    } catch (NumberFormatException e) {
      throw new CelSyntaxException(text, at, "'" + digits + "' is out of range; expected a 64-bit integer");
    }
  }

  private String string() {
    char quote = text.charAt(pos);
    int at = pos + 1;
    if (text.startsWith(String.valueOf(quote).repeat(3), pos)) {
      throw error("triple-quoted strings are not supported; expected '...' or \"...\"");
    }
    pos++;
    StringBuilder b = new StringBuilder();
    while (pos < text.length()) {
      char c = text.charAt(pos++);
      if (c == quote) {
        return b.toString();
      }
      if (c == '\\') {
        char e = pos < text.length() ? text.charAt(pos++) : 0;
        switch (e) {
          case '\\', '\'', '"' -> b.append(e);
          case 'n' -> b.append('\n');
          case 't' -> b.append('\t');
          default -> throw new CelSyntaxException(text, pos, "escape \\" + e + " is not supported; expected \\\\ \\' \\\" \\n or \\t");
        }
      } else {
        b.append(c);
      }
    }
    throw new CelSyntaxException(text, at, "unterminated string; expected a closing " + quote);
  }

  private String identifier(String what) {
    skipSpace();
    int start = pos;
    while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '_')) {
      pos++;
    }
    if (start == pos || Character.isDigit(text.charAt(start))) {
      pos = start;
      throw error("expected " + what + (pos >= text.length() ? ", got the end" : ", got '" + rest() + "'"));
    }
    return text.substring(start, pos);
  }

  /** Consumes keyword {@code word} when it stands alone (not the start of a longer name). */
  private boolean keyword(String word) {
    skipSpace();
    int end = pos + word.length();
    if (text.startsWith(word, pos) && (end >= text.length() || !Character.isLetterOrDigit(text.charAt(end)) && text.charAt(end) != '_')) {
      pos = end;
      return true;
    }
    return false;
  }

  private boolean consume(String op) {
    skipSpace();
    if (text.startsWith(op, pos)) {
      pos += op.length();
      return true;
    }
    return false;
  }

  private void expect(char c) {
    skipSpace();
    if (peek() != c) {
      throw error("expected '" + c + "'" + (pos >= text.length() ? ", got the end" : ", got '" + rest() + "'"));
    }
    pos++;
  }

  private char peek() {
    return pos < text.length() ? text.charAt(pos) : 0;
  }

  private void skipSpace() {
    while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
      pos++;
    }
  }

  /** A short quote of what is left at the current position. */
  private String rest() {
    String r = text.substring(pos);
    return r.length() > 20 ? r.substring(0, 20) + "..." : r;
  }

  private CelSyntaxException error(String problem) {
    return new CelSyntaxException(text, pos + 1, problem);
  }
}
