package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.cel.CelNode;
import io.keelson.dataplane.cel.CelSyntaxException;
import java.util.function.BiFunction;

/**
 * CEL's {@code == != < <= > >=} between two compiled values of one type (int, string, bool, duration), an error on
 * either side giving an error. Comparing different types is CEL's "no matching overload", refused at compile time.
 * Stateless.
 */
final class CelComparison {
  private CelComparison() {}

  static CelValue compile(CelNode.Binary b, CelValue left, CelValue right,
      BiFunction<CelNode, String, CelSyntaxException> error) {
    if (left.type() != right.type()) {
      throw error.apply(b, "no matching overload for " + left.type().celName + " " + b.op() + " "
          + right.type().celName + "; expected both sides of one type");
    }
    String op = b.op();
    boolean ordered = !op.equals("==") && !op.equals("!=");
    return switch (left.type()) {
      case INT, DURATION -> {
        CelValue.Num l = left.num();
        CelValue.Num r = right.num();
        yield CelValue.bool(rec -> {
          long x = l.value(rec);
          long y = r.value(rec);
          return x == CelValue.MISSING || y == CelValue.MISSING ? CelValue.ERROR : answer(op, Long.compare(x, y));
        });
      }
      case STRING -> {
        CelValue.Str l = left.str();
        CelValue.Str r = right.str();
        yield CelValue.bool(rec -> {
          String x = l.value(rec);
          String y = r.value(rec);
          return x == null || y == null ? CelValue.ERROR : answer(op, ordered ? x.compareTo(y) : x.equals(y) ? 0 : 1);
        });
      }
      case BOOL -> {
        if (ordered) {
          throw error.apply(b, "bools are compared with == and != only");
        }
        CelValue.Bool l = left.bool();
        CelValue.Bool r = right.bool();
        yield CelValue.bool(rec -> {
          int x = l.test(rec);
          int y = r.test(rec);
          return x == CelValue.ERROR || y == CelValue.ERROR ? CelValue.ERROR : answer(op, x == y ? 0 : 1);
        });
      }
    };
  }

  private static int answer(String op, int cmp) {
    boolean v = switch (op) {
      case "==" -> cmp == 0;
      case "!=" -> cmp != 0;
      case "<" -> cmp < 0;
      case "<=" -> cmp <= 0;
      case ">" -> cmp > 0;
      default -> cmp >= 0;
    };
    return v ? CelValue.TRUE : CelValue.FALSE;
  }
}
