package io.keelson.bench.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One scenario's peers side by side, with Keelson's ratios to the others; no peers when it was skipped. Immutable. */
record ScenarioSummary(String scenario, String description, String unit, List<String> loadCommand,
    List<PeerSummary> peers, Map<String, Double> ratios) {

  /**
   * The ratios BENCHMARKS.md asks for: keelson over each other peer (direct last), for the rate
   * ({@code unit}, e.g. requests/s) and, where latency was measured, p99.
   */
  static ScenarioSummary of(String scenario, String description, String unit, List<String> loadCommand,
      List<PeerSummary> peers) {
    Map<String, Double> ratios = new LinkedHashMap<>();
    List<PeerSummary> keelsons = peers.stream().filter(p -> isKeelson(p.peer())).toList();
    List<PeerSummary> others = new ArrayList<>(peers.stream().filter(p -> !isKeelson(p.peer())).toList());
    others.sort((a, b) -> Boolean.compare(a.peer().equals("direct"), b.peer().equals("direct")));
    for (PeerSummary k : keelsons) {
      for (PeerSummary o : others) {
        ratios.put(unit + " " + k.peer() + "/" + o.peer(), Stats.ratio(k.ratePerSecond(), o.ratePerSecond()));
        if (!k.latencyCurveUs().isEmpty() || !o.latencyCurveUs().isEmpty()) {
          ratios.put("p99 " + k.peer() + "/" + o.peer(), Stats.ratio(k.p99Us(), o.p99Us()));
        }
      }
    }
    return new ScenarioSummary(scenario, description, unit, loadCommand, peers, ratios);
  }

  /** "keelson", or a Keelson variant such as "keelson-disruptor" on the packet path. */
  static boolean isKeelson(String peer) {
    return peer.equals("keelson") || peer.startsWith("keelson-");
  }

  static PeerSummary find(List<PeerSummary> peers, String name) {
    return peers.stream().filter(p -> p.peer().equals(name)).findFirst().orElse(null);
  }
}
