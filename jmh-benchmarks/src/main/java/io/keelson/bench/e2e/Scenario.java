package io.keelson.bench.e2e;

import java.io.IOException;
import java.util.List;

/**
 * One benchmark scenario of BENCHMARKS.md: which peers it compares, how each is started, and how
 * one measured run goes. The runner starts every peer once per scenario, takes turns between them
 * (A B C D A B C D ...), samples each proxy's memory and CPU, and stops them at the end. HTTP
 * scenarios are {@link HttpScenario}s; the packet path (DPDK vs testpmd) plugs in here with its own
 * implementation. Implementations are immutable; one run at a time.
 */
interface Scenario {
  String name();

  /** One line for --help and the summary. */
  String description();

  /**
   * Why this scenario cannot run on this machine (e.g. "DPDK is not installed"), or null when it
   * can. An unavailable scenario is reported as skipped, never as a bench failure.
   */
  default String unavailableReason(Tools tools) {
    return null;
  }

  /** The peers this scenario compares, in the order they take turns. */
  List<String> peers();

  /** Programs needed for these peers (load generator included), installed from Debian when missing. */
  List<Tools.Tool> tools(List<String> peers);

  /** True when it forwards to the shared HTTP upstream (nginx {@code return 200}). */
  boolean needsUpstream();

  /** The version of a peer's software, for results.json. */
  String peerVersion(String peer, Tools tools);

  /** Starts one peer and returns once it serves; the runner closes it. */
  Contender start(String peer, ScenarioContext context) throws IOException, PeerStartException;

  /** The exact load command of one run, as shown in the summary. */
  List<String> loadCommand(Contender contender, RunSpec spec, Tools tools);

  /** One measured run against a started peer. */
  Measurement measure(Contender contender, RunSpec spec, Tools tools) throws IOException, InterruptedException;
}
