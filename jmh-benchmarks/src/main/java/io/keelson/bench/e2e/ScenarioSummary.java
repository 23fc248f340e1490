package io.keelson.bench.e2e;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One scenario's peers side by side, with Keelson's ratios to the others. Immutable. */
record ScenarioSummary(String scenario, String description, List<String> loadCommand, List<PeerSummary> peers,
           Map<String, Double> ratios) {

  /** The ratios BENCHMARKS.md asks for: keelson over each other peer, for requests/s and p99. */
  static ScenarioSummary of(String scenario, String description, List<String> loadCommand, List<PeerSummary> peers) {
    Map<String, Double> ratios = new LinkedHashMap<>();
    PeerSummary keelson = find(peers, "keelson");
    for (String other : List.of("nginx", "haproxy", "direct")) {
      PeerSummary o = find(peers, other);
      if (keelson != null && o != null) {
        ratios.put("requests/s keelson/" + other, Stats.ratio(keelson.ratePerSecond(), o.ratePerSecond()));
        ratios.put("p99 keelson/" + other, Stats.ratio(keelson.p99Us(), o.p99Us()));
      }
    }
    return new ScenarioSummary(scenario, description, loadCommand, peers, ratios);
  }

  static PeerSummary find(List<PeerSummary> peers, String name) {
    return peers.stream().filter(p -> p.peer().equals(name)).findFirst().orElse(null);
  }
}
