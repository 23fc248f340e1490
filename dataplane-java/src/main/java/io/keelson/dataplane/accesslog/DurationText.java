package io.keelson.dataplane.accesslog;

/** CEL's {@code duration('...')} text: a sequence of decimal numbers with units h, m, s, ms, us, ns ("1h30m", "1.5s"). Stateless. */
final class DurationText {
  private static final java.util.regex.Pattern PART = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|m|s|us|ns)");

  private DurationText() {}

  /** The duration in nanoseconds, or -1 when {@code s} is not one. */
  static long nanos(String s) {
    java.util.regex.Matcher m = PART.matcher(s);
    double total = 0;
    int at = 0;
    while (at < s.length() && m.find(at) && m.start() == at) {
      double unit = switch (m.group(2)) {
        case "h" -> 3.6e12;
        case "m" -> 6e10;
        case "s" -> 1e9;
        case "ms" -> 1e6;
        case "us" -> 1e3;
        default -> 1;
      };
      total += Double.parseDouble(m.group(1)) * unit;
      at = m.end();
    }
    return at == s.length() && at > 0 && total < 9.2e18 ? (long) total : -1;
  }
}
