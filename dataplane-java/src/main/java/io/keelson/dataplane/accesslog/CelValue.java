package io.keelson.dataplane.accesslog;

/**
 * A compiled, typed CEL sub-expression over an {@link AccessLogRecord}. Exactly one of the evaluators is set, by
 * {@link #type}; each reports CEL's error value (a missing attribute or map key) in-band, so evaluating allocates
 * nothing: {@link Bool} answers {@link #ERROR}, {@link Num} {@link #MISSING}, {@link Str} null. Immutable.
 */
record CelValue(Type type, Bool bool, Num num, Str str, String literal) {
  static final int TRUE = 1;
  static final int FALSE = 0;
  static final int ERROR = -1;
  static final long MISSING = Long.MIN_VALUE;

  /** CEL types the subset has (int and uint are one: Keelson's numbers are never above 2^63). */
  enum Type {
    BOOL("bool"), INT("int"), STRING("string"), DURATION("google.protobuf.Duration");

    final String celName;

    Type(String celName) {
      this.celName = celName;
    }
  }

  interface Bool {
    int test(AccessLogRecord r);
  }

  interface Num {
    long value(AccessLogRecord r);
  }

  interface Str {
    String value(AccessLogRecord r);
  }

  static CelValue bool(Bool b) {
    return new CelValue(Type.BOOL, b, null, null, null);
  }

  static CelValue num(Type type, Num n) {
    return new CelValue(type, null, n, null, null);
  }

  static CelValue str(Str s) {
    return new CelValue(Type.STRING, null, null, s, null);
  }

  /** A string literal: its text is kept so callers can check it at compile time (a header name, a duration). */
  static CelValue stringLiteral(String s) {
    return new CelValue(Type.STRING, null, null, r -> s, s);
  }
}
