package io.keelson.bench.e2e;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One measured run as results.json keeps it: every number, the exact load command and the raw
 * output file. A failed run has {@code status} "failed" and an {@code error}, and does not count
 * towards medians. Immutable.
 */
record RunRecord(String scenario, String peer, int run, String status, String error, double ratePerSecond,
        String unit, long operations, double seconds, long errors, String errorDetail,
        Map<String, Double> latencyUs, long rssPeakKb, long rssMeanKb, double cpuPercent,
        List<String> command, String rawOutput) {

  /** Runs with more failed requests than this fraction are failed runs: a proxy answering 502 fast is not fast. */
  static final double MAX_ERROR_RATIO = 0.01;

  boolean ok() {
    return "ok".equals(status);
  }

  /** Latency at a percentile ("p99"), or NaN when not measured. */
  double latency(String key) {
    Double v = latencyUs.get(key);
    return v == null ? Double.NaN : v;
  }

  static RunRecord of(String scenario, String peer, int run, Measurement m, ResourceSampler.Usage usage,
            List<String> command, String rawOutput) {
    String status = "ok";
    String error = null;
    if (m.operations() == 0) {
      status = "failed";
      error = "nothing measured: 0 " + m.unit() + (m.errorDetail().isEmpty() ? "" : " (" + m.errorDetail() + ")");
    } else if (m.errorRatio() > MAX_ERROR_RATIO) {
      status = "failed";
      error = String.format("%.1f%% of requests failed (%s)", 100 * m.errorRatio(), m.errorDetail());
    }
    return new RunRecord(scenario, peer, run, status, error, m.ratePerSecond(), m.unit(), m.operations(),
      m.seconds(), m.errors(), m.errorDetail(), latencyKeys(m), usage.rssPeakKb(), usage.rssMeanKb(),
      usage.cpuPercent(), command, rawOutput);
  }

  static RunRecord failed(String scenario, String peer, int run, String error, List<String> command, String rawOutput) {
    return new RunRecord(scenario, peer, run, "failed", error, Double.NaN, "", 0, 0, 0, "", Map.of(), 0, 0,
      Double.NaN, command, rawOutput);
  }

  /** "p50", "p99.9": percentile keys as people write them. */
  static String key(double percentile) {
    return "p" + (percentile == Math.rint(percentile) ? Long.toString((long) percentile) : Double.toString(percentile));
  }

  private static Map<String, Double> latencyKeys(Measurement m) {
    Map<String, Double> out = new LinkedHashMap<>();
    m.latencyUs().forEach((p, v) -> out.put(key(p), v));
    return out;
  }
}
