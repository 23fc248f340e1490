package io.keelson.bench.e2e;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One peer in one scenario, summarised over its runs: medians of the successful runs, or why it
 * has none. Immutable.
 */
record PeerSummary(String scenario, String peer, String status, String error, int runsOk, int runs,
    double ratePerSecond, double p50Us, double p99Us, double p999Us, double rssPeakMb,
    double cpuPercent, Map<String, Double> latencyCurveUs, double readySeconds, double idleRssMb, int warmupSeconds) {

  /**
   * The same summary with how long the peer took from launch to serving its first 200, and its
   * resident memory right then (BENCHMARKS.md section 4).
   */
  PeerSummary withStartup(double readySeconds, double idleRssMb) {
    return new PeerSummary(scenario, peer, status, error, runsOk, runs, ratePerSecond, p50Us, p99Us, p999Us,
        rssPeakMb, cpuPercent, latencyCurveUs, readySeconds, idleRssMb, warmupSeconds);
  }

  /** The same summary with the seconds of unrecorded load it got before its first run. */
  PeerSummary withWarmup(int seconds) {
    return new PeerSummary(scenario, peer, status, error, runsOk, runs, ratePerSecond, p50Us, p99Us, p999Us,
        rssPeakMb, cpuPercent, latencyCurveUs, readySeconds, idleRssMb, seconds);
  }

  boolean ok() {
    return runsOk > 0;
  }

  /** Summarises the runs of one peer; {@code startError} is set when it never started. */
  static PeerSummary of(String scenario, String peer, List<RunRecord> runs, String startError) {
    List<RunRecord> good = runs.stream().filter(RunRecord::ok).toList();
    if (startError != null || good.isEmpty()) {
      String why = startError != null ? startError
        : runs.isEmpty() ? "no runs" : "every run failed; last: " + runs.getLast().error();
      return new PeerSummary(scenario, peer, "failed", why, 0, runs.size(), Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, Double.NaN, Double.NaN, Map.of(), Double.NaN, Double.NaN, 0);
    }
    // The curve is the median at each percentile across runs, so one noisy run does not draw it.
    Map<String, Double> curve = new TreeMap<>((a, b) -> Double.compare(pct(a), pct(b)));
    for (String k : good.getFirst().latencyUs().keySet()) {
      curve.put(k, Stats.median(good.stream().map(r -> r.latency(k)).toList()));
    }
    double rss = Stats.median(good.stream().map(r -> r.rssPeakKb() == 0 ? Double.NaN : r.rssPeakKb() / 1024.0).toList());
    return new PeerSummary(scenario, peer, good.size() == runs.size() ? "ok" : "partial",
      good.size() == runs.size() ? null : (runs.size() - good.size()) + " run(s) failed",
      good.size(), runs.size(),
      Stats.median(good.stream().map(RunRecord::ratePerSecond).toList()),
      Stats.median(good.stream().map(r -> r.latency("p50")).toList()),
      Stats.median(good.stream().map(r -> r.latency("p99")).toList()),
      Stats.median(good.stream().map(r -> r.latency("p99.9")).toList()),
      rss,
      Stats.median(good.stream().map(RunRecord::cpuPercent).toList()),
      curve, Double.NaN, Double.NaN, 0);
  }

  /** A peer of a scenario this machine cannot run (not a failure: e.g. no DPDK here). */
  static PeerSummary skipped(String scenario, String peer, String reason) {
    return new PeerSummary(scenario, peer, "skipped", reason, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, Double.NaN, Map.of(), Double.NaN, Double.NaN, 0);
  }

  /** "p99.9" -> 99.9 */
  static double pct(String key) {
    return Double.parseDouble(key.substring(1));
  }
}
