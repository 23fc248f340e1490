package io.keelson.dataplane.filter.compressor;

/**
 * Envoy's choice of response encoding from a request's {@code accept-encoding} (compressor.cc
 * {@code chooseEncoding}), for a chain whose one compression library is gzip: tokens split on ',', q-values
 * parsed (an unparsable one drops its token), {@code q=0} withdrawing gzip, the highest q among gzip,
 * {@code identity} and {@code *} winning (the first on a tie). Stateless.
 */
final class AcceptEncoding {
  /** No accept-encoding header: not compressed. */
  static final int NO_HEADER = 0;
  /** No acceptable coding, or every candidate at q=0: not compressed. */
  static final int NOT_VALID = 1;
  /** identity won: not compressed. */
  static final int IDENTITY = 2;
  /** {@code *} won: gzip. */
  static final int WILDCARD = 3;
  /** gzip won. */
  static final int GZIP = 4;
  static final int DECISIONS = 5;

  private AcceptEncoding() {}

  /** One of the decisions above for the header value (null when absent). */
  static int decide(String header) {
    if (header == null) {
      return NO_HEADER;
    }
    boolean gzipAllowed = true;
    boolean anyPair = false;
    int choice = NOT_VALID;
    float best = 0;
    int n = header.length();
    int start = 0;
    while (start <= n) {
      int comma = header.indexOf(',', start);
      int end = comma < 0 ? n : comma;
      int semi = header.indexOf(';', start);
      int nameEnd = semi >= 0 && semi < end ? semi : end;
      float q = 1;
      boolean parsed = true;
      if (nameEnd < end) {
        int eq = header.indexOf('=', nameEnd);
        if (eq >= 0 && eq < end && header.substring(nameEnd + 1, eq).strip().equalsIgnoreCase("q")) {
          try {
            q = Float.parseFloat(header.substring(eq + 1, end).strip());
          } catch (NumberFormatException e) {
            parsed = false;
          }
        }
      }
      String name = header.substring(start, nameEnd).strip();
      start = end + 1;
      if (!parsed || (name.isEmpty() && nameEnd == end)) {
        continue; // a q-value that does not parse drops its token; empty tokens are not kept (Envoy's splitToken)
      }
      anyPair = true;
      if (q == 0 && name.equals("gzip")) {
        gzipAllowed = false;
      }
      if (q > best && (name.equals("gzip") || name.equals("identity") || name.equals("*"))) {
        best = q;
        choice = name.equals("gzip") ? GZIP : name.equals("identity") ? IDENTITY : WILDCARD;
      }
    }
    if (!anyPair || !gzipAllowed || best == 0) {
      return NOT_VALID;
    }
    return choice;
  }

  /** Whether the decision lets the response be gzipped. */
  static boolean compresses(int decision) {
    return decision == GZIP || decision == WILDCARD;
  }
}
