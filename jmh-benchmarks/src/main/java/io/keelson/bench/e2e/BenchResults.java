package io.keelson.bench.e2e;

import java.util.List;
import java.util.Map;

/**
 * {@code harnessFailures} lists what failed in the bench's own machinery (the upstream, or the
 * direct baseline, with their tools installed): those fail the command even without --strict.
 *
 * <p>Everything one `keelson bench` invocation measured, exactly what results.json holds: the
 * command, settings, machine, peers' versions, every run, and the per-scenario summaries.
 * Immutable.
 */
record BenchResults(String command, String started, String finished, Settings settings, MachineInfo machine,
          String pinning, Map<String, String> peerVersions, List<RunRecord> runs,
          List<ScenarioSummary> summaries, List<String> problems, List<String> harnessFailures) {

  /** The knobs of the run. */
  record Settings(List<String> scenarios, List<String> peers, int runs, int durationSeconds, int warmupSeconds,
          int connections, boolean quick, String keelsonJvmOpts, List<String> keelsonArgs) {
  }

  /** True when every peer of every scenario that can run here started and every run succeeded. */
  boolean allOk() {
    return problems.isEmpty() && summaries.stream().flatMap(s -> s.peers().stream())
        .allMatch(p -> "ok".equals(p.status()) || "skipped".equals(p.status()));
  }
}
