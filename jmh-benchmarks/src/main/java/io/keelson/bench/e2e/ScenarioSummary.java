package io.keelson.bench.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One scenario's peers side by side, with Keelson's ratios to the others. Immutable. */
record ScenarioSummary(String scenario, String description, String unit, List<String> loadCommand,
    List<PeerSummary> peers, Map<String, Double> ratios) {

  /**
   * The ratios BENCHMARKS.md asks for: keelson over each other peer (direct last), for the rate
   * ({@code unit}, e.g. requests/s) and, where latency was measured, p99.
   */
  static ScenarioSummary of(String scenario, String description, String unit, List<String> loadCommand,
      List<PeerSummary> peers) {
    Map<String, Double> ratios = new LinkedHashMap<>();
    PeerSummary keelson = find(peers, "keelson");
    List<PeerSummary> others = new ArrayList<>(peers.stream().filter(p -> !p.peer().equals("keelson")).toList());
    others.sort((a, b) -> Boolean.compare(a.peer().equals("direct"), b.peer().equals("direct")));
    if (keelson != null) {
      for (PeerSummary o : others) {
        ratios.put(unit + " keelson/" + o.peer(), Stats.ratio(keelson.ratePerSecond(), o.ratePerSecond()));
        if (!keelson.latencyCurveUs().isEmpty() || !o.latencyCurveUs().isEmpty()) {
          ratios.put("p99 keelson/" + o.peer(), Stats.ratio(keelson.p99Us(), o.p99Us()));
        }
      }
    }
    return new ScenarioSummary(scenario, description, unit, loadCommand, peers, ratios);
  }

  static PeerSummary find(List<PeerSummary> peers, String name) {
    return peers.stream().filter(p -> p.peer().equals(name)).findFirst().orElse(null);
  }
}
