package io.keelson.bench.e2e;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TurnRatiosTest {
  private static RunRecord run(String peer, int run, double rps, double cpuPercent) {
    Measurement m = new Measurement(rps, "requests/s", (long) (rps * 5), 5.0, 0, "", new TreeMap<>(Map.of(99.0, 900.0)));
    return RunRecord.of("two-hop-mtls-turns", peer, run, m, new ResourceSampler.Usage(1000, 900, cpuPercent),
        List.of("wrk"), "raw");
  }

  private final List<RunRecord> runs = List.of(
      run("keelson", 1, 40_000, 100), run("keelson-mtls", 1, 36_000, 99),
      run("keelson", 2, 30_000, 96), RunRecord.failed("two-hop-mtls-turns", "keelson-mtls", 2, "wrk failed", List.of(), ""),
      run("keelson", 3, 20_000, 100), run("keelson-mtls", 3, 19_000, 100));

  @Test
  void eachTurnPairsTheVariantWithKeelsonsRunOfTheSameNumberAndSkipsFailedRuns() {
    List<TurnRatios.Turn> turns = TurnRatios.of("two-hop-mtls-turns", "keelson-mtls", runs);

    assertThat(turns).extracting(TurnRatios.Turn::run).containsExactly(1, 3);
    assertThat(turns.get(0).rateRatio()).isCloseTo(0.9, within(1e-9));
    assertThat(turns.get(1).rateRatio()).isCloseTo(0.95, within(1e-9));
  }

  @Test
  void aTurnWhereEitherPairHeldLessThanNinetyPercentOfItsCoreIsMarkedNotCpuBound() {
    List<RunRecord> loaded = List.of(run("keelson", 1, 40_000, 100), run("keelson-mtls", 1, 20_000, 50),
        run("keelson", 2, 30_000, 95), run("keelson-mtls", 2, 27_000, 92));
    List<TurnRatios.Turn> turns = TurnRatios.of("two-hop-mtls-turns", "keelson-mtls", loaded);
    StringBuilder md = new StringBuilder();
    TurnRatios.appendTable(md, "keelson-mtls", turns);

    assertThat(turns).extracting(TurnRatios.Turn::cpuBound).containsExactly(false, true);
    assertThat(md.toString()).contains("| 1 | 40,000 | 20,000 | 0.500 (not CPU-bound) | 100% | 50% |")
        .contains("CPU-bound (at least 90% of their core): 1 of 2; their median keelson-mtls/keelson 0.900.");
  }

  @Test
  void cpuPerRequestIsTheShareOfACoreOverTheRate() {
    List<TurnRatios.Turn> turns = TurnRatios.of("two-hop-mtls-turns", "keelson-mtls", runs);

    assertThat(turns.get(0).baseCpuUs()).isCloseTo(25.0, within(1e-9)); // 1 core / 40,000 req/s
    assertThat(turns.get(0).variantCpuUs()).isCloseTo(27.5, within(1e-9)); // 0.99 core / 36,000 req/s
    assertThat(turns.get(0).cpuRatio()).isCloseTo(1.1, within(1e-9));
    assertThat(TurnRatios.cpuMicrosPerOp(Double.NaN, 1000)).isNaN();
  }

  @Test
  void summaryShowsPerTurnRatiosAndTheirMedianOnlyForScenariosWithKeelsonAndAVariant() {
    List<PeerSummary> peers = List.of(
        PeerSummary.of("two-hop-mtls-turns", "keelson", runs.stream().filter(r -> r.peer().equals("keelson")).toList(), null),
        PeerSummary.of("two-hop-mtls-turns", "keelson-mtls",
            runs.stream().filter(r -> r.peer().equals("keelson-mtls")).toList(), null));
    ScenarioSummary sc = ScenarioSummary.of("two-hop-mtls-turns", "turns", "requests/s", List.of("wrk"), peers);
    BenchResults base = Fixtures.results();
    BenchResults results = new BenchResults(base.command(), base.started(), base.finished(), base.settings(),
        base.machine(), base.pinning(), base.peerVersions(), runs, List.of(sc), List.of(), List.of());

    String md = SummaryMarkdown.render(results, List.of());

    assertThat(md).contains("| turn | keelson | keelson-mtls | keelson-mtls/keelson | CPU keelson | CPU keelson-mtls | CPU/req keelson |")
        .contains("| 1 | 40,000 | 36,000 | 0.900 | 100% | 99% | 25.0 µs | 27.5 µs | 1.100 |")
        .contains("| median | | | 0.925 | | | | | 1.076 |")
        .contains("Turns with both pairs CPU-bound (at least 90% of their core): 2 of 2; their median keelson-mtls/keelson 0.925.");
    assertThat(TurnRatios.variants(sc)).containsExactly("keelson-mtls");
    assertThat(TurnRatios.variants(base.summaries().getFirst())).isEmpty();
    assertThat(SummaryMarkdown.render(base, List.of())).doesNotContain("Per turn");
  }
}
