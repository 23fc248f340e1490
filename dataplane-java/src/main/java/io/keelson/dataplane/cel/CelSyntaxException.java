package io.keelson.dataplane.cel;

/**
 * A CEL expression Keelson cannot read or does not support: the message names the expression, the 1-based column and
 * what was expected there.
 */
public final class CelSyntaxException extends IllegalArgumentException {
  private final int column;

  public CelSyntaxException(String expression, int column, String problem) {
    super("CEL expression '" + expression + "' at column " + column + ": " + problem);
    this.column = column;
  }

  /** The 1-based column the problem is at. */
  public int column() {
    return column;
  }
}
