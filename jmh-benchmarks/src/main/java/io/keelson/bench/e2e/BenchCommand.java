package io.keelson.bench.e2e;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.NoBenchmarksException;
import org.openjdk.jmh.runner.RunnerException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * {@code keelson bench}: parses the command line, runs the end-to-end scenarios and/or JMH, and
 * writes results.json, summary.md and the charts. Called once per process from the main thread.
 */
public final class BenchCommand {
  /** Exit codes: the bench ran; the bench itself (or, with --strict, a peer) failed; bad usage. */
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;

  private BenchCommand() {
  }

  /** Runs the command; returns the process exit code. Unexpected exceptions propagate (a broken bench must fail loudly). */
  public static int run(String[] args, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("keelson bench: " + e.getMessage());
      return USAGE;
    }
    if (options.help()) {
      out.print(BenchOptions.usage());
      return OK;
    }
    Path dir = options.out();
    Files.createDirectories(dir);
    StringBuilder summary = new StringBuilder();
    int exit = OK;
    if (!options.scenarios().isEmpty()) {
      List<Scenario> selected = new ArrayList<>();
      for (Scenario s : Scenarios.builtIn(dir)) {
        if (options.scenarios().contains(s.name())) {
          selected.add(s);
        }
      }
      List<BatchScenario> batches = new ArrayList<>();
      for (BatchScenario b : Scenarios.batches(keelsonHome())) {
        if (options.scenarios().contains(b.name())) {
          batches.add(b);
        }
      }
      BenchResults results = new BenchRunner(options, selected, batches, err, keelsonLauncher()).run();
      ResultsJson.write(results, dir);
      List<String> charts = Charts.write(results.summaries(), results.machine(), dir);
      summary.append(SummaryMarkdown.render(results, charts));
      if (!results.allOk()) {
        err.println("keelson bench: some peers or runs failed (see summary.md)"
          + (options.strict() ? "; --strict: exit code 1" : ""));
        if (options.strict()) {
          exit = FAILED;
        }
      }
      for (String f : results.harnessFailures()) {
        err.println("keelson bench: the bench itself is broken: " + f);
        exit = FAILED;
      }
    }
    if (options.jmh()) {
      try {
        Collection<RunResult> jmh = JmhLauncher.run(options.jmhPattern(), dir);
        if (summary.isEmpty()) {
          MachineInfo m = MachineInfo.collect(MachineInfo.loadAverageNow());
          summary.append("# Keelson benchmark\n\nCommand: `").append(options.commandLine()).append("`\n\n- Machine: ")
              .append(m.nproc()).append(" CPUs, ").append(m.cpuModel()).append(", Linux ").append(m.kernel())
              .append("; JDK: ").append(m.jdk()).append("\n\n");
        } else {
          summary.append('\n');
        }
        summary.append(JmhLauncher.markdown(jmh, options.jmhPattern()));
      } catch (NoBenchmarksException e) {
        err.println("keelson bench: no JMH benchmark matches '" + options.jmhPattern() + "' (a regular expression over"
            + " names like io.keelson.bench.jmh.RouteMatchBenchmark.match)");
        Files.deleteIfExists(dir.resolve("jmh-results.json"));
        exit = FAILED;
      } catch (RunnerException | RuntimeException e) {
        err.println("keelson bench: JMH failed: " + e);
        exit = FAILED;
      }
    }
    if (!summary.isEmpty()) {
      Files.writeString(dir.resolve("summary.md"), summary);
      out.print(summary);
      err.println("keelson bench: results in " + dir.toAbsolutePath());
    }
    return exit;
  }

  /** The project root: -Dkeelson.home (set by the launcher), else the working directory. */
  static Path keelsonHome() {
    String home = System.getProperty("keelson.home");
    return (home == null ? Path.of("") : Path.of(home)).toAbsolutePath();
  }

  /** bin/keelson under {@link #keelsonHome()}. */
  static Path keelsonLauncher() {
    return keelsonHome().resolve("bin/keelson");
  }
}
