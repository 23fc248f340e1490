package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.cel.CelNode;
import io.keelson.dataplane.cel.CelParser;
import io.keelson.dataplane.cel.CelSyntaxException;
import java.util.List;
import java.util.Locale;

/**
 * Envoy's CEL access-log filter ({@code envoy.access_loggers.extension_filters.cel}, what istiod sends for a
 * Telemetry's {@code accessLogging[].filter.expression}), compiled ONCE into typed evaluators over the record's
 * {@link RecordAttributes}: literals, {@code == != < <= > >=}, {@code && || !}, {@code in [...]}, {@code 'h' in
 * request.headers}, {@code has(request.headers.h)}, {@code startsWith/endsWith/contains} and {@code duration('1s')}.
 * CEL's semantics: an error (a missing attribute or header) is absorbed by {@code &&}/{@code ||} when the other side
 * decides, and an entry whose expression ends in an error or is not true is not logged (Envoy's filter). Anything else,
 * and a type mismatch, is refused at compile time with the column. Stateless.
 */
final class CelAccessLogFilter {
  private final String text;
  private final LogFields fields;
  private final List<String> requestHeaders;
  private final List<String> responseHeaders;

  private CelAccessLogFilter(String text, LogFields fields) {
    this.text = text;
    this.fields = fields;
    this.requestHeaders = fields.requestHeaders;
    this.responseHeaders = fields.responseHeaders;
  }

  /** The filter {@code expression} describes; throws {@link CelSyntaxException} naming the column of a problem. */
  static AccessLogFilter compile(String expression, LogFields fields) {
    CelNode root = CelParser.parse(expression);
    CelAccessLogFilter c = new CelAccessLogFilter(expression, fields);
    CelValue v = c.value(root);
    if (v.type() != CelValue.Type.BOOL) {
      throw c.error(root, "expected a bool expression, got " + v.type().celName);
    }
    CelValue.Bool b = v.bool();
    return r -> b.test(r) == CelValue.TRUE;
  }

  private CelValue value(CelNode n) {
    return switch (n) {
      case CelNode.Literal l -> literal(l);
      case CelNode.Ident i -> attribute(n);
      case CelNode.Select s -> s.field().equals("headers") ? map(n) : attribute(n);
      case CelNode.Index i -> index(i);
      case CelNode.Call c -> call(c);
      case CelNode.Unary u -> unary(u);
      case CelNode.Binary b -> binary(b);
      case CelNode.ListLiteral l -> throw error(l, "a list is only supported on the right of 'in'");
    };
  }

  private static CelValue literal(CelNode.Literal l) {
    return switch (l.value()) {
      case Long v -> CelValue.num(CelValue.Type.INT, r -> v);
      case String s -> CelValue.stringLiteral(s);
      case Boolean b -> {
        int v = b ? CelValue.TRUE : CelValue.FALSE;
        yield CelValue.bool(r -> v);
      }
      default -> throw new IllegalStateException("literal " + l.value());
    };
  }

  private CelValue attribute(CelNode n) {
    String name = CelNode.dottedName(n);
    CelValue v = name == null ? null : RecordAttributes.of(name, requestHeaders);
    if ("response.grpc_status".equals(name)) {
      fields.grpcStatus = true;
    }
    if (v == null) {
      CelNode root = n;
      while (root instanceof CelNode.Select s) {
        root = s.operand();
      }
      throw error(root, (name == null ? "this expression" : "attribute '" + name + "'") + " is not supported; expected one of "
          + String.join(", ", RecordAttributes.NAMES));
    }
    return v;
  }

  /** {@code request.headers} / {@code response.headers} outside an index, {@code in} or {@code has}. */
  private CelValue map(CelNode n) {
    throw error(n, "a header map is only supported as " + CelNode.dottedName(n) + "['name'], 'name' in "
        + CelNode.dottedName(n) + " or has(" + CelNode.dottedName(n) + ".name)");
  }

  /** True for {@code request.headers}, false for {@code response.headers}; null for anything else. */
  private static Boolean headerMap(CelNode n) {
    String name = CelNode.dottedName(n);
    return "request.headers".equals(name) ? Boolean.TRUE : "response.headers".equals(name) ? Boolean.FALSE : null;
  }

  private CelValue index(CelNode.Index i) {
    Boolean request = headerMap(i.operand());
    if (request == null) {
      throw error(i, "only request.headers['name'] and response.headers['name'] can be indexed");
    }
    return RecordAttributes.header(request ? requestHeaders : responseHeaders, headerName(i.key()), request);
  }

  private String headerName(CelNode key) {
    if (!(key instanceof CelNode.Literal l) || !(l.value() instanceof String s) || s.isEmpty()) {
      throw error(key, "expected a header name as a string literal ('x-user')");
    }
    return s.toLowerCase(Locale.ROOT);
  }

  private CelValue call(CelNode.Call c) {
    if (c.target() == null) {
      return switch (c.function()) {
        case "has" -> has(c);
        case "duration" -> duration(c);
        default -> throw error(c, "function " + c.function() + "() is not supported; expected has(), duration(), "
            + "or the methods startsWith(), endsWith(), contains()");
      };
    }
    if (!c.function().equals("startsWith") && !c.function().equals("endsWith") && !c.function().equals("contains")) {
      throw error(c, "method ." + c.function() + "() is not supported; expected startsWith, endsWith or contains");
    }
    if (c.args().size() != 1) {
      throw error(c, "." + c.function() + "() takes one string argument, got " + c.args().size());
    }
    CelValue.Str target = string(c.target(), "." + c.function() + "()");
    CelValue.Str arg = string(c.args().get(0), "." + c.function() + "()");
    CelValue.Bool b = switch (c.function()) {
      case "startsWith" -> r -> strings(target, arg, r, 0);
      case "endsWith" -> r -> strings(target, arg, r, 1);
      default -> r -> strings(target, arg, r, 2);
    };
    return CelValue.bool(b);
  }

  private static int strings(CelValue.Str target, CelValue.Str arg, AccessLogRecord r, int op) {
    String t = target.value(r);
    String a = arg.value(r);
    if (t == null || a == null) {
      return CelValue.ERROR;
    }
    boolean v = op == 0 ? t.startsWith(a) : op == 1 ? t.endsWith(a) : t.contains(a);
    return v ? CelValue.TRUE : CelValue.FALSE;
  }

  private CelValue.Str string(CelNode n, String where) {
    CelValue v = value(n);
    if (v.type() != CelValue.Type.STRING) {
      throw error(n, "expected a string for " + where + ", got " + v.type().celName);
    }
    return v.str();
  }

  private CelValue has(CelNode.Call c) {
    if (c.args().size() == 1 && c.args().get(0) instanceof CelNode.Select s && headerMap(s.operand()) != null) {
      boolean request = headerMap(s.operand());
      CelValue.Str h = RecordAttributes.header(request ? requestHeaders : responseHeaders,
          s.field().toLowerCase(Locale.ROOT), request).str();
      return CelValue.bool(r -> h.value(r) != null ? CelValue.TRUE : CelValue.FALSE);
    }
    throw error(c, "expected has(request.headers.name) or has(response.headers.name); for names with '-' use "
        + "'name' in request.headers");
  }

  private CelValue duration(CelNode.Call c) {
    if (c.args().size() == 1 && c.args().get(0) instanceof CelNode.Literal l && l.value() instanceof String s) {
      long nanos = DurationText.nanos(s);
      if (nanos >= 0) {
        return CelValue.num(CelValue.Type.DURATION, r -> nanos);
      }
    }
    throw error(c, "expected duration('<number><unit>'), units h, m, s, ms, us, ns (e.g. duration('1.5s'))");
  }

  private CelValue unary(CelNode.Unary u) {
    if (u.op().equals("-")) {
      if (u.operand() instanceof CelNode.Literal l && l.value() instanceof Long v && !l.unsigned()) {
        return CelValue.num(CelValue.Type.INT, r -> -v);
      }
      throw error(u, "negation is only supported on an int literal");
    }
    CelValue.Bool b = bool(u.operand(), "!");
    return CelValue.bool(r -> {
      int v = b.test(r);
      return v == CelValue.ERROR ? v : 1 - v;
    });
  }

  private CelValue.Bool bool(CelNode n, String op) {
    CelValue v = value(n);
    if (v.type() != CelValue.Type.BOOL) {
      throw error(n, "expected a bool for " + op + ", got " + v.type().celName);
    }
    return v.bool();
  }

  private CelValue binary(CelNode.Binary b) {
    switch (b.op()) {
      case "&&", "||" -> {
        CelValue.Bool l = bool(b.left(), b.op());
        CelValue.Bool r = bool(b.right(), b.op());
        // CEL's commutative logic: the deciding value wins over an error on either side
        int decides = b.op().equals("&&") ? CelValue.FALSE : CelValue.TRUE;
        return CelValue.bool(rec -> {
          int x = l.test(rec);
          if (x == decides) {
            return x;
          }
          int y = r.test(rec);
          return y == decides ? y : x == CelValue.ERROR || y == CelValue.ERROR ? CelValue.ERROR : x;
        });
      }
      case "in" -> {
        return in(b);
      }
      default -> {
        return CelComparison.compile(b, value(b.left()), value(b.right()), this::error);
      }
    }
  }

  private CelValue in(CelNode.Binary b) {
    Boolean request = headerMap(b.right());
    if (request != null) {
      CelValue.Str h = RecordAttributes.header(request ? requestHeaders : responseHeaders, headerName(b.left()), request).str();
      return CelValue.bool(r -> h.value(r) != null ? CelValue.TRUE : CelValue.FALSE);
    }
    if (!(b.right() instanceof CelNode.ListLiteral list)) {
      throw error(b.right(), "expected a list literal [...], request.headers or response.headers on the right of 'in'");
    }
    CelValue left = value(b.left());
    CelValue[] items = new CelValue[list.items().size()];
    for (int i = 0; i < items.length; i++) {
      CelNode item = list.items().get(i);
      items[i] = value(item);
      if (!(item instanceof CelNode.Literal) && !(item instanceof CelNode.Unary)) {
        throw error(item, "expected a literal in the list");
      }
      if (items[i].type() != left.type()) {
        throw error(item, "expected a " + left.type().celName + " like the left of 'in', got " + items[i].type().celName);
      }
    }
    if (left.type() == CelValue.Type.STRING) {
      String[] values = new String[items.length];
      for (int i = 0; i < items.length; i++) {
        values[i] = items[i].str().value(null);
      }
      CelValue.Str s = left.str();
      return CelValue.bool(r -> {
        String v = s.value(r);
        if (v == null) {
          return CelValue.ERROR;
        }
        for (String x : values) {
          if (x.equals(v)) {
            return CelValue.TRUE;
          }
        }
        return CelValue.FALSE;
      });
    }
    if (left.type() == CelValue.Type.INT) {
      long[] values = new long[items.length];
      for (int i = 0; i < items.length; i++) {
        values[i] = items[i].num().value(null);
      }
      CelValue.Num n = left.num();
      return CelValue.bool(r -> {
        long v = n.value(r);
        if (v == CelValue.MISSING) {
          return CelValue.ERROR;
        }
        for (long x : values) {
          if (x == v) {
            return CelValue.TRUE;
          }
        }
        return CelValue.FALSE;
      });
    }
    throw error(b.left(), "expected an int or a string on the left of 'in', got " + left.type().celName);
  }

  CelSyntaxException error(CelNode at, String problem) {
    return new CelSyntaxException(text, at.column(), problem);
  }
}
