package io.keelson.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SummaryTest {
  private final BenchResults results = Fixtures.results();
  private final ScenarioSummary scenario = results.summaries().getFirst();

  @Test
  void peerMediansLeaveFailedRunsOut() {
    PeerSummary keelson = ScenarioSummary.find(scenario.peers(), "keelson");

    assertThat(keelson.runsOk()).isEqualTo(2);
    assertThat(keelson.runs()).isEqualTo(3);
    assertThat(keelson.status()).isEqualTo("partial");
    assertThat(keelson.ratePerSecond()).isEqualTo(100_000.0);
    assertThat(keelson.p99Us()).isEqualTo(800.0);
    assertThat(keelson.p50Us()).isEqualTo(190.0);
    assertThat(keelson.rssPeakMb()).isEqualTo(40.0); // runs 1 and 3: 20 MiB and 60 MiB
  }

  @Test
  void peerMediansOverThreeRunsTakeTheMiddleRun() {
    PeerSummary nginx = ScenarioSummary.find(scenario.peers(), "nginx");

    assertThat(nginx.status()).isEqualTo("ok");
    assertThat(nginx.ratePerSecond()).isEqualTo(70_000.0);
    assertThat(nginx.p99Us()).isEqualTo(1100.0);
    assertThat(nginx.cpuPercent()).isEqualTo(95.0);
    assertThat(nginx.latencyCurveUs()).containsKeys("p1", "p50", "p99", "p99.9", "p100");
    assertThat(nginx.latencyCurveUs().keySet()).containsExactly("p1", "p50", "p90", "p99", "p99.9", "p100");
  }

  @Test
  void ratiosCompareKeelsonWithEachPeerAndMissingPeersGiveNaN() {
    assertThat(scenario.ratios().get("requests/s keelson/nginx")).isCloseTo(100_000.0 / 70_000, within(1e-9));
    assertThat(scenario.ratios().get("requests/s keelson/direct")).isCloseTo(0.5, within(1e-9));
    assertThat(scenario.ratios().get("p99 keelson/nginx")).isCloseTo(800.0 / 1100, within(1e-9));
    assertThat(scenario.ratios().get("requests/s keelson/haproxy")).isNaN();
  }

  @Test
  void runsWithTooManyFailedRequestsAreFailedRuns() {
    Measurement bad = new Measurement(50_000, "requests/s", 1000, 1.0, 100, "status=100",
      new java.util.TreeMap<>());

    RunRecord r = RunRecord.of("s", "keelson", 1, bad, ResourceSampler.Usage.NONE, List.of(), "x");

    assertThat(r.ok()).isFalse();
    assertThat(r.error()).contains("9.1% of requests failed").contains("status=100");
  }

  @Test
  void markdownShowsMediansRatiosCommandAndWhyAPeerFailed() {
    String md = SummaryMarkdown.render(results, List.of("requests-per-second.png"));

    assertThat(md).contains("Command: `bin/keelson bench --quick`");
    assertThat(md).contains("2 CPUs, Test CPU");
    assertThat(md).contains("| keelson | 100,000 | 10% | 190 µs | 800 µs | 1.60 ms | 40 MiB | 95% | 2/3 |");
    assertThat(md).contains("| direct | 200,000 | 5% | 100 µs | 310 µs | 620 µs | n/a | n/a | 3/3 |");
    assertThat(md).contains("| haproxy | failed | | | | | | | not started |");
    assertThat(md).doesNotContain("Busy machine");
    assertThat(md).contains("load average (1/5/15 min) at start 0.50 0.40 0.30, at end 1.50 0.60 0.35");
    assertThat(md).contains("| requests/s keelson/nginx | 1.43 |");
    assertThat(md).contains("| requests/s keelson/haproxy | n/a |");
    assertThat(md).contains("- haproxy failed: haproxy exited with code 1");
    assertThat(md).contains("| nginx | 0.05 s | 2 s | 7 MiB | 40 MiB |");
    assertThat(md).contains("- keelson partial: 1 run(s) failed");
    assertThat(md).contains("![requests-per-second.png](requests-per-second.png)");
    assertThat(md).contains("Load command (one run): `wrk -t1 -c16 http://127.0.0.1:1/`");
  }

  @Test
  void aBusyMachineIsCalledOutAboveTheTables() {
    BenchResults r = Fixtures.results();
    MachineInfo busy = new MachineInfo(2, "Test CPU", "6.1.0", "Debian", "JDK 25", List.of(), "3.50 2.00 1.00 3/100 1",
        "4.00 2.00 1.00 3/100 1");
    BenchResults noisy = new BenchResults(r.command(), r.started(), r.finished(), r.settings(), busy, r.pinning(),
        r.peerVersions(), r.runs(), r.summaries(), r.problems(), List.of());

    assertThat(SummaryMarkdown.render(noisy, List.of())).contains("> Busy machine: the load average was 3.50 on 2 CPUs");
  }

  @Test
  void spreadIsHalfTheRangeOverTheMedian() {
    assertThat(Stats.spreadPercent(List.of(90.0, 100.0, 110.0))).isEqualTo(10.0);
    assertThat(Stats.spreadPercent(List.of(100.0))).isNaN();
  }

  @Test
  void resultsJsonHoldsEveryRunAndWritesUnmeasuredNumbersAsNull(@TempDir Path dir) throws Exception {
    Path file = ResultsJson.write(results, dir);

    JsonNode root = ResultsJson.MAPPER.readTree(file.toFile());
    assertThat(root.path("command").asText()).isEqualTo("bin/keelson bench --quick");
    assertThat(root.path("machine").path("nproc").asInt()).isEqualTo(2);
    assertThat(root.path("machine").path("cpuModel").asText()).isEqualTo("Test CPU");
    assertThat(root.path("runs")).hasSize(9);
    JsonNode first = root.path("runs").get(0);
    assertThat(first.path("ratePerSecond").asDouble()).isEqualTo(200_000.0);
    assertThat(first.path("latencyUs").path("p99").asDouble()).isEqualTo(300.0);
    assertThat(first.path("cpuPercent").isNull()).isTrue();
    assertThat(root.path("runs").get(4).path("status").asText()).isEqualTo("failed");
    assertThat(root.path("summaries").get(0).path("ratios").path("requests/s keelson/haproxy").isNull()).isTrue();
  }
}
