package io.keelson.dataplane.cel;

import java.util.List;

/**
 * A parsed CEL expression of the subset {@link CelParser} reads: the syntax tree only, with no types and no meaning
 * (the access-log filter and the Istio tag values give them). Every node knows the 1-based column it starts at, so
 * whoever refuses it can point there. Immutable.
 */
public sealed interface CelNode {
  /** The 1-based column of the node's first character in the expression. */
  int column();

  /** An int ({@link Long}), a uint ({@link Long} with {@code unsigned}), a string or a bool literal. */
  record Literal(Object value, boolean unsigned, int column) implements CelNode {}

  /** A name: {@code request}, or a function-free identifier. */
  record Ident(String name, int column) implements CelNode {}

  /** {@code operand.field}. */
  record Select(CelNode operand, String field, int column) implements CelNode {}

  /** {@code operand[key]}. */
  record Index(CelNode operand, CelNode key, int column) implements CelNode {}

  /** {@code fn(args)} or {@code target.fn(args)} ({@code target} null for a global call such as {@code has}). */
  record Call(CelNode target, String function, List<CelNode> args, int column) implements CelNode {
    public Call {
      args = List.copyOf(args);
    }
  }

  /** {@code !operand} or {@code -operand}. */
  record Unary(String op, CelNode operand, int column) implements CelNode {}

  /** {@code left op right}: {@code == != < <= > >= && || in}. */
  record Binary(String op, CelNode left, CelNode right, int column) implements CelNode {}

  /** {@code [a, b, ...]}. */
  record ListLiteral(List<CelNode> items, int column) implements CelNode {
    public ListLiteral {
      items = List.copyOf(items);
    }
  }

  /**
   * The dotted name a chain of selections spells ({@code request.headers}), or null when the node is something else.
   */
  static String dottedName(CelNode n) {
    if (n instanceof Ident i) {
      return i.name();
    }
    if (n instanceof Select s) {
      String left = dottedName(s.operand());
      return left == null ? null : left + "." + s.field();
    }
    return null;
  }
}
