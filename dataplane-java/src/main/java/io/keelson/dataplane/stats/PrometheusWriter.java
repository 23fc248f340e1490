package io.keelson.dataplane.stats;

/** Builds Prometheus text exposition lines with escaped label values. Not thread-safe; one per scrape. */
public final class PrometheusWriter {
  private final StringBuilder out = new StringBuilder(4096);

  public void type(String metric, String type) {
    out.append("# TYPE ").append(metric).append(' ').append(type).append('\n');
  }

  /** One sample; {@code labels} alternates names and values. */
  public void sample(String metric, long value, String... labels) {
    sampleRaw(metric, Long.toString(value), labels);
  }

  /** One sample whose value is already formatted (a float, "+Inf", "NaN"). */
  public void sampleRaw(String metric, String value, String... labels) {
    out.append(metric);
    if (labels.length > 0) {
      out.append('{');
      for (int i = 0; i < labels.length; i += 2) {
        if (i > 0) {
          out.append(',');
        }
        out.append(labels[i]).append("=\"");
        escape(labels[i + 1]);
        out.append('"');
      }
      out.append('}');
    }
    out.append(' ').append(value).append('\n');
  }

  /** Prometheus float form: integers without a fraction, others in Java's shortest round-trip form. */
  public static String formatDouble(double d) {
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    return Double.toString(d);
  }

  private void escape(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> out.append("\\\\");
        case '"' -> out.append("\\\"");
        case '\n' -> out.append("\\n");
        default -> out.append(c);
      }
    }
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
