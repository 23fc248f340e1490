package io.keelson.bench.e2e;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Per-turn ratios of a Keelson variant (e.g. "keelson-mtls") to plain "keelson" in one scenario: for each
 * run number both completed, the variant's rate over keelson's and its CPU per request over keelson's. Runs
 * of one turn are seconds apart, so slow drift of the machine cancels in these ratios, which a ratio of
 * medians taken across launches does not. Stateless.
 */
final class TurnRatios {
  private TurnRatios() {
  }

  /**
   * A run whose proxy process tree used less than this share of its core (in percent) was not CPU-bound: something
   * else (another process on the core, the load generator) set its rate, so its req/s ratio says nothing about the
   * proxies' cost, while its CPU per request still does.
   */
  static final double CPU_BOUND_PERCENT = 90;

  /**
   * One turn: both runs' rates, their CPU (percent of one core; NaN when not sampled), CPU per request in µs,
   * and the ratios.
   */
  record Turn(int run, double baseRate, double variantRate, double baseCpuPercent, double variantCpuPercent) {
    double baseCpuUs() {
      return cpuMicrosPerOp(baseCpuPercent, baseRate);
    }

    double variantCpuUs() {
      return cpuMicrosPerOp(variantCpuPercent, variantRate);
    }

    /** Both runs CPU-bound: the req/s ratio of this turn measures the proxies. */
    boolean cpuBound() {
      return baseCpuPercent >= CPU_BOUND_PERCENT && variantCpuPercent >= CPU_BOUND_PERCENT;
    }

    double rateRatio() {
      return Stats.ratio(variantRate, baseRate);
    }

    double cpuRatio() {
      return Stats.ratio(variantCpuUs(), baseCpuUs());
    }
  }

  /** CPU time per operation in µs: {@code cpuPercent} of one core at {@code rate} operations per second. */
  static double cpuMicrosPerOp(double cpuPercent, double rate) {
    return Stats.ratio(cpuPercent / 100 * 1e6, rate);
  }

  /** The turns of {@code variant} against "keelson" in {@code scenario}, in run order; failed runs are left out. */
  static List<Turn> of(String scenario, String variant, List<RunRecord> runs) {
    List<Turn> turns = new ArrayList<>();
    for (RunRecord v : runs) {
      if (!v.ok() || !v.scenario().equals(scenario) || !v.peer().equals(variant)) {
        continue;
      }
      for (RunRecord b : runs) {
        if (b.ok() && b.scenario().equals(scenario) && b.peer().equals("keelson") && b.run() == v.run()) {
          turns.add(new Turn(v.run(), b.ratePerSecond(), v.ratePerSecond(), b.cpuPercent(), v.cpuPercent()));
        }
      }
    }
    return turns;
  }

  /** The Keelson variants of a scenario that have turns against "keelson" (none when "keelson" is absent). */
  static List<String> variants(ScenarioSummary sc) {
    if (ScenarioSummary.find(sc.peers(), "keelson") == null) {
      return List.of();
    }
    return sc.peers().stream().map(PeerSummary::peer).filter(p -> p.startsWith("keelson-")).toList();
  }

  /** A markdown table of the turns and their medians; nothing when there are no turns. */
  static void appendTable(StringBuilder md, String variant, List<Turn> turns) {
    if (turns.isEmpty()) {
      return;
    }
    md.append("| turn | keelson | ").append(variant).append(" | ").append(variant)
        .append("/keelson | CPU keelson | CPU ").append(variant).append(" | CPU/req keelson | CPU/req ").append(variant)
        .append(" | CPU/req ratio |\n")
        .append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Turn t : turns) {
      md.append("| ").append(t.run())
          .append(" | ").append(fmt("%,.0f", t.baseRate()))
          .append(" | ").append(fmt("%,.0f", t.variantRate()))
          .append(" | ").append(fmt("%.3f", t.rateRatio())).append(t.cpuBound() ? "" : " (not CPU-bound)")
          .append(" | ").append(percent(t.baseCpuPercent()))
          .append(" | ").append(percent(t.variantCpuPercent()))
          .append(" | ").append(micros(t.baseCpuUs()))
          .append(" | ").append(micros(t.variantCpuUs()))
          .append(" | ").append(Double.isNaN(t.cpuRatio()) ? "n/a" : fmt("%.3f", t.cpuRatio())).append(" |\n");
    }
    double rate = Stats.median(turns.stream().map(Turn::rateRatio).toList());
    double cpu = Stats.median(turns.stream().map(Turn::cpuRatio).toList());
    md.append("| median | | | ").append(fmt("%.3f", rate)).append(" | | | | | ")
        .append(Double.isNaN(cpu) ? "n/a" : fmt("%.3f", cpu)).append(" |\n");
    List<Turn> bound = turns.stream().filter(Turn::cpuBound).toList();
    md.append("\nTurns with both pairs CPU-bound (at least ").append(fmt("%.0f", CPU_BOUND_PERCENT))
        .append("% of their core): ").append(bound.size()).append(" of ").append(turns.size());
    if (!bound.isEmpty()) {
      md.append("; their median ").append(variant).append("/keelson ")
          .append(fmt("%.3f", Stats.median(bound.stream().map(Turn::rateRatio).toList())));
    }
    md.append(". A turn that is not CPU-bound measured whatever else held the core; its CPU per request still counts.\n");
  }

  private static String percent(double p) {
    return Double.isNaN(p) ? "n/a" : fmt("%.0f%%", p);
  }

  private static String micros(double us) {
    return Double.isNaN(us) ? "n/a" : fmt("%.1f µs", us);
  }

  private static String fmt(String pattern, double v) {
    return String.format(Locale.ROOT, pattern, v);
  }
}
