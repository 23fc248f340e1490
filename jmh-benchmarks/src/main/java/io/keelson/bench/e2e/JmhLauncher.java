package io.keelson.bench.e2e;

import io.keelson.bench.jmh.GatewayJvmFlags;
import io.keelson.dataplane.gateway.GatewayCommand;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Runs the JMH micro-benchmarks (io.keelson.bench.jmh, settings from their shared base class)
 * through JMH's Runner API, writing jmh-results.json into the results directory. The benchmarks of a
 * class marked {@link GatewayJvmFlags} run in a Runner of their own whose forks also get the gateway's
 * JVM flags file ({@link GatewayCommand#jvmFlags}, under the project root: {@link BenchCommand#keelsonHome});
 * a missing file fails the run before any benchmark starts, naming the file. Forks otherwise inherit this
 * JVM's flags (JMH's default), i.e. bin/keelson's. Single-threaded.
 */
final class JmhLauncher {
  private static final String ALL = "io\\.keelson\\.bench\\..*";

  private JmhLauncher() {
  }

  /** @throws RunnerException when nothing matches {@code pattern} or a benchmark fails */
  static Collection<RunResult> run(String pattern, Path outDir) throws RunnerException {
    List<Options> runs = plan(pattern, BenchCommand.keelsonHome());
    List<RunResult> results = new ArrayList<>();
    for (Options o : runs) {
      results.addAll(new Runner(o).run());
    }
    ResultFormatFactory.getInstance(ResultFormatType.JSON, outDir.resolve("jmh-results.json").toString())
      .writeOut(results);
    return results;
  }

  /**
   * The JMH runs for {@code pattern} (null: every benchmark): the benchmarks of unmarked classes with JMH's
   * defaults, then those of {@link GatewayJvmFlags} classes with the gateway's flags file under {@code keelsonHome}
   * appended to their forks' JVM arguments. Each run lists its benchmarks by exact name. Runs nothing.
   *
   * @throws NoBenchmarksException when nothing matches
   * @throws IllegalStateException naming the flags file when a marked benchmark matches and the file is missing
   */
  static List<Options> plan(String pattern, Path keelsonHome) throws NoBenchmarksException {
    TreeSet<String> plain = new TreeSet<>();
    TreeSet<String> gateway = new TreeSet<>();
    for (BenchmarkListEntry e : BenchmarkList.defaultList().find(
        OutputFormatFactory.createFormatInstance(System.out, VerboseMode.SILENT),
        List.of(pattern == null ? ALL : pattern), List.of())) {
      (runsAsTheGateway(e.getUserClassQName()) ? gateway : plain).add(e.getUsername());
    }
    if (plain.isEmpty() && gateway.isEmpty()) {
      throw new NoBenchmarksException();
    }
    List<String> gatewayFlags = gateway.isEmpty() ? List.of() : GatewayCommand.jvmFlags(keelsonHome);
    List<Options> runs = new ArrayList<>();
    if (!plain.isEmpty()) {
      runs.add(exactly(plain).build());
    }
    if (!gateway.isEmpty()) {
      runs.add(exactly(gateway).jvmArgsAppend(gatewayFlags.toArray(String[]::new)).build());
    }
    return runs;
  }

  /** Options that include exactly the benchmarks {@code names} (JMH matches includes as regular expressions). */
  private static ChainedOptionsBuilder exactly(Collection<String> names) {
    ChainedOptionsBuilder b = new OptionsBuilder().shouldFailOnError(true);
    names.forEach(n -> b.include("^" + Pattern.quote(n) + "$"));
    return b;
  }

  private static boolean runsAsTheGateway(String benchmarkClass) {
    try {
      return Class.forName(benchmarkClass, false, JmhLauncher.class.getClassLoader())
        .isAnnotationPresent(GatewayJvmFlags.class);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("JMH lists " + benchmarkClass + ", which is not on the class path", e);
    }
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
