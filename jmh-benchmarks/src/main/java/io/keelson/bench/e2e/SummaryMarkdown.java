package io.keelson.bench.e2e;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders summary.md: per scenario, the medians per peer and Keelson's ratios, with how they were measured. Stateless. */
final class SummaryMarkdown {
  private SummaryMarkdown() {
  }

  static String render(BenchResults r, List<String> chartFiles) {
    StringBuilder md = new StringBuilder();
    BenchResults.Settings s = r.settings();
    md.append("# Keelson benchmark: ").append(r.started()).append("\n\n");
    md.append("Command: `").append(r.command()).append("`\n\n");
    md.append("- Machine: ").append(r.machine().nproc()).append(" CPUs, ").append(r.machine().cpuModel())
      .append(", Linux ").append(r.machine().kernel()).append(", ").append(r.machine().os()).append('\n');
    md.append("- JDK: ").append(r.machine().jdk()).append("; Keelson proxy JVM options: `")
      .append(s.keelsonJvmOpts()).append('`');
    if (!s.keelsonArgs().isEmpty()) {
      md.append("; proxy arguments: `").append(String.join(" ", s.keelsonArgs())).append('`');
    }
    md.append('\n');
    md.append("- Pinning: ").append(r.pinning()).append("; load average (1/5/15 min) at start ")
      .append(loadTriple(r.machine().loadAverageAtStart())).append(", at end ")
      .append(loadTriple(r.machine().loadAverage())).append('\n');
    md.append("- Runs: ").append(s.runs()).append(" per peer, interleaved (").append(String.join(" ", s.peers()))
      .append(", repeated), ").append(s.durationSeconds()).append(" s each").append(s.quick() ? " (--quick)" : "")
      .append("; HTTP: before its first run each peer gets unrecorded load until three 1-second slices in a row agree")
      .append(" within 10% (at most ")
      .append(s.warmupSeconds()).append(" s), ")
      .append(s.connections()).append(" connections; the figures below are medians over the successful runs\n");
    md.append("- Versions: ");
    r.peerVersions().forEach((k, v) -> md.append(k).append(": ").append(v).append("; "));
    md.setLength(md.length() - 2);
    md.append("\n\n");
    double load = firstLoad(r.machine().loadAverageAtStart());
    if (load > r.machine().nproc() / 2.0) {
      md.append("> Busy machine: the load average was ").append(fmt("%.2f", load)).append(" on ")
          .append(r.machine().nproc()).append(" CPUs before the bench started anything. Absolute numbers vary from run"
          + " to run (see ± spread); the ratios, measured in turns, hold better. Re-run on an idle machine, or with more"
          + " --runs, before quoting.\n\n");
    }
    if (s.runs() < 3) {
      md.append("> Fewer than 3 runs per peer: indicative only; BENCHMARKS.md asks for at least 3.\n\n");
    }
    for (String p : r.problems()) {
      md.append("> Problem: ").append(p).append("\n\n");
    }
    for (ScenarioSummary sc : r.summaries()) {
      md.append("## ").append(sc.scenario()).append("\n\n").append(sc.description()).append("\n\n");
      if (sc.peers().isEmpty()) {
        continue; // skipped or failed whole: the description says why
      }
      if (sc.unit().equals("packets/s")) {
        packetTable(md, sc);
      } else {
        httpTable(md, sc, r.runs());
      }
      md.append('\n');
      if (!sc.ratios().isEmpty()) {
        md.append("| ratio | value |\n|---|---:|\n");
        for (Map.Entry<String, Double> e : sc.ratios().entrySet()) {
          md.append("| ").append(e.getKey()).append(" | ")
            .append(Double.isNaN(e.getValue()) ? "n/a" : fmt("%.2f", e.getValue())).append(" |\n");
        }
        md.append('\n');
      }
      for (String variant : TurnRatios.variants(sc)) {
        List<TurnRatios.Turn> turns = TurnRatios.of(sc.scenario(), variant, r.runs());
        if (!turns.isEmpty()) {
          md.append("Per turn (runs seconds apart; CPU per request is the proxy process tree's):\n\n");
          TurnRatios.appendTable(md, variant, turns);
          md.append('\n');
        }
      }
      if (sc.peers().stream().anyMatch(p -> !Double.isNaN(p.readySeconds()))) {
        md.append("| peer | launch to first 200 | warm-up used | RSS idle | RSS under load (peak) |\n"
            + "|---|---:|---:|---:|---:|\n");
        for (PeerSummary p : sc.peers()) {
          if (!Double.isNaN(p.readySeconds())) {
            md.append("| ").append(p.peer()).append(" | ").append(fmt("%.2f s", p.readySeconds()))
                .append(" | ").append(p.warmupSeconds()).append(" s")
                .append(" | ").append(fmt("%.0f MiB", p.idleRssMb()))
                .append(" | ").append(Double.isNaN(p.rssPeakMb()) ? "n/a" : fmt("%.0f MiB", p.rssPeakMb())).append(" |\n");
          }
        }
        md.append('\n');
      }
      for (PeerSummary p : sc.peers()) {
        if (p.error() != null) {
          md.append("- ").append(p.peer()).append(' ').append(p.ok() ? "partial" : p.status()).append(": ")
            .append(p.error()).append('\n');
        }
      }
      if (!sc.loadCommand().isEmpty()) {
        md.append("\nLoad command (one run): `").append(ShellWords.join(sc.loadCommand())).append("`\n");
      }
      md.append('\n');
    }
    if (!chartFiles.isEmpty()) {
      md.append("## Charts\n\n");
      for (String c : chartFiles) {
        md.append("![").append(c).append("](").append(c).append(")\n\n");
      }
    }
    md.append("Every run, with all its numbers and raw output, is in `results.json` and the scenario directories.\n");
    return md.toString();
  }

  private static void httpTable(StringBuilder md, ScenarioSummary sc, List<RunRecord> runs) {
    md.append("| peer | ").append(sc.unit())
        .append(" | ± spread | p50 | p99 | p99.9 | proxy RSS | proxy CPU | runs ok |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (PeerSummary p : sc.peers()) {
      if (!p.ok()) {
        md.append("| ").append(p.peer()).append(" | ").append(p.status()).append(" | | | | | | | ")
          .append(p.runs() == 0 ? "not started" : "0/" + p.runs()).append(" |\n");
        continue;
      }
      double spread = Stats.spreadPercent(runs.stream()
          .filter(x -> x.ok() && x.scenario().equals(sc.scenario()) && x.peer().equals(p.peer()))
          .map(RunRecord::ratePerSecond).toList());
      md.append("| ").append(p.peer())
        .append(" | ").append(fmt("%,.0f", p.ratePerSecond()))
        .append(" | ").append(Double.isNaN(spread) ? "n/a" : fmt("%.0f%%", spread))
        .append(" | ").append(latency(p.p50Us()))
        .append(" | ").append(latency(p.p99Us()))
        .append(" | ").append(latency(p.p999Us()))
        .append(" | ").append(Double.isNaN(p.rssPeakMb()) ? "n/a" : fmt("%.0f MiB", p.rssPeakMb()))
        .append(" | ").append(Double.isNaN(p.cpuPercent()) ? "n/a" : fmt("%.0f%%", p.cpuPercent()))
        .append(" | ").append(p.runsOk()).append('/').append(p.runs()).append(" |\n");
    }
  }

  /** The packet path: rate in Mpps and ns per packet (1000 / Mpps), no latency or proxy columns. */
  private static void packetTable(StringBuilder md, ScenarioSummary sc) {
    md.append("| subject | Mpps | ns/packet | runs ok |\n|---|---:|---:|---:|\n");
    for (PeerSummary p : sc.peers()) {
      if (!p.ok()) {
        md.append("| ").append(p.peer()).append(" | ").append(p.status()).append(" | | 0/").append(p.runs()).append(" |\n");
        continue;
      }
      double mpps = p.ratePerSecond() / 1e6;
      md.append("| ").append(p.peer()).append(" | ").append(fmt("%.3f", mpps)).append(" | ")
          .append(fmt("%.1f", 1000 / mpps)).append(" | ").append(p.runsOk()).append('/').append(p.runs()).append(" |\n");
    }
  }

  /** The 1-minute load average from a /proc/loadavg line, or NaN. */
  static double firstLoad(String loadavg) {
    try {
      return Double.parseDouble(loadavg.split("\\s+")[0]);
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  /** "0.52 0.58 0.59 1/123 4567" -> "0.52 0.58 0.59" */
  static String loadTriple(String loadavg) {
    String[] f = loadavg.split("\\s+");
    return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : loadavg;
  }

  /** Microseconds shown as µs below 1 ms, else as ms. */
  static String latency(double us) {
    if (Double.isNaN(us)) {
      return "n/a";
    }
    return us < 1000 ? fmt("%.0f µs", us) : fmt("%.2f ms", us / 1000);
  }

  private static String fmt(String pattern, double v) {
    return String.format(Locale.ROOT, pattern, v);
  }
}
