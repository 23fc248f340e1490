package io.keelson.bench.e2e;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * A scenario whose own harness starts its subjects and takes turns between them (the packet path:
 * dpdk-testpmd and the Keelson gateway, one EAL process each), handing back every run. The runner
 * summarises, charts and reports it like the others. Implementations are immutable; one run at a
 * time, on the calling thread.
 */
interface BatchScenario {
  String name();

  /** One line for --help and the summary. */
  String description();

  /** Why it cannot run on this machine, or null when it can; unavailable means skipped, not failed. */
  String unavailableReason(Tools tools);

  /** Runs every subject {@code runs} times, interleaved, for about {@code seconds} each. */
  List<Group> run(Path dir, int runs, int seconds, PrintStream log) throws IOException, InterruptedException;

  /**
   * The runs of one comparison (e.g. one device), reported as a scenario of its own: its name, what
   * it compares, the rate's unit, every run, and the command of each subject.
   */
  record Group(String scenario, String description, String unit, List<RunRecord> runs,
      java.util.Map<String, String> commands) {
  }
}
