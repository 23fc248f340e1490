package io.keelson.control.api;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * Go's {@code time.ParseDuration} text, as Istio's meshConfig YAML writes durations: one or more decimal numbers each
 * with a unit ({@code ns}, {@code us}, {@code µs}, {@code ms}, {@code s}, {@code m}, {@code h}), e.g. {@code 100ms},
 * {@code 1.5s}, {@code 1m30s}; a bare {@code 0} is zero. Negative durations are refused (no meshConfig timeout is
 * negative). Stateless.
 */
public final class GoDuration {
  private static final java.util.regex.Pattern PART =
      java.util.regex.Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

  private static final BigDecimal MAX_NANOS = BigDecimal.valueOf(Long.MAX_VALUE);

  private GoDuration() {}

  /** {@code text} as a duration; an IllegalArgumentException saying what was expected otherwise. */
  public static Duration parse(String text) {
    String s = text == null ? "" : text.strip();
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    java.util.regex.Matcher m = PART.matcher(s);
    BigDecimal nanos = BigDecimal.ZERO;
    int at = 0;
    while (at < s.length() && m.find(at) && m.start() == at) {
      BigDecimal unit = switch (m.group(2)) {
        case "ns" -> BigDecimal.ONE;
        case "us", "µs" -> BigDecimal.valueOf(1_000);
        case "ms" -> BigDecimal.valueOf(1_000_000);
        case "s" -> BigDecimal.valueOf(1_000_000_000);
        case "m" -> BigDecimal.valueOf(60_000_000_000L);
        default -> BigDecimal.valueOf(3_600_000_000_000L);
      };
      nanos = nanos.add(new BigDecimal(m.group(1)).multiply(unit));
      at = m.end();
    }
    if (s.isEmpty() || at != s.length()) {
      throw new IllegalArgumentException("'" + text + "' is not a duration; expected a Go duration such as 100ms,"
          + " 1s or 1m30s");
    }
    // Go's int64 nanoseconds (and so istiod) stop at 2562047h47m16.854775807s; longValue() would wrap silently.
    BigDecimal whole = nanos.setScale(0, java.math.RoundingMode.DOWN);
    if (whole.compareTo(MAX_NANOS) > 0) {
      throw new IllegalArgumentException("'" + text + "' is out of range; expected at most 2562047h47m16.854775807s"
          + " (Go's longest duration)");
    }
    return Duration.ofNanos(whole.longValueExact());
  }
}
