package io.keelson.bench.e2e;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Runs the JMH micro-benchmarks (io.keelson.bench.jmh, settings from their shared base class)
 * through JMH's Runner API, writing jmh-results.json into the results directory. Single-threaded.
 */
final class JmhLauncher {
  private JmhLauncher() {
  }

  /** @throws RunnerException when nothing matches {@code pattern} or a benchmark fails */
  static Collection<RunResult> run(String pattern, Path outDir) throws RunnerException {
    Options opts = new OptionsBuilder()
      .include(pattern == null ? "io\\.keelson\\.bench\\..*" : pattern)
      .resultFormat(ResultFormatType.JSON)
      .result(outDir.resolve("jmh-results.json").toString())
      .shouldFailOnError(true)
      .build();
    return new Runner(opts).run();
  }

  /** A markdown table of the results, sorted by benchmark name. */
  static String markdown(Collection<RunResult> results, String pattern) {
    StringBuilder md = new StringBuilder("## JMH micro-benchmarks\n\n");
    md.append("Pattern: `").append(pattern == null ? "(all)" : pattern)
      .append("`; raw results in `jmh-results.json`.\n\n");
    md.append("| benchmark | params | mode | score | ± error | unit |\n|---|---|---|---:|---:|---|\n");
    List<RunResult> sorted = new ArrayList<>(results);
    sorted.sort(RunResult.DEFAULT_SORT_COMPARATOR);
    for (RunResult r : sorted) {
      List<String> params = new ArrayList<>();
      for (String k : r.getParams().getParamsKeys()) {
        params.add(k + "=" + r.getParams().getParam(k));
      }
      String name = r.getParams().getBenchmark();
      md.append("| ").append(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1))
        .append(" | ").append(String.join(", ", params))
        .append(" | ").append(r.getParams().getMode().shortLabel())
        .append(" | ").append(String.format(Locale.ROOT, "%.3f", r.getPrimaryResult().getScore()))
        .append(" | ").append(String.format(Locale.ROOT, "%.3f", r.getPrimaryResult().getScoreError()))
        .append(" | ").append(r.getPrimaryResult().getScoreUnit()).append(" |\n");
    }
    return md.append('\n').toString();
  }
}
