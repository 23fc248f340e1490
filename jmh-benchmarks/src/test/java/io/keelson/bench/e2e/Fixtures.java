package io.keelson.bench.e2e;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Hand-made runs and results for the summary, chart and JSON tests. */
final class Fixtures {
  private Fixtures() {
  }

  static RunRecord run(String scenario, String peer, int run, double rps, double p50, double p99) {
    TreeMap<Double, Double> pct = new TreeMap<>(Map.of(1.0, p50 / 2, 50.0, p50, 90.0, (p50 + p99) / 2, 99.0, p99,
      99.9, p99 * 2, 100.0, p99 * 4));
    Measurement m = new Measurement(rps, "requests/s", (long) (rps * 3), 3.0, 0, "", pct);
    ResourceSampler.Usage usage = peer.equals("direct") ? ResourceSampler.Usage.NONE
      : new ResourceSampler.Usage(20_480 * run, 10_240, 95.0);
    return RunRecord.of(scenario, peer, run, m, usage, List.of("wrk", "-t1", "-c16", "http://127.0.0.1:1/"),
      scenario + "/runs/" + peer + "-run" + run + ".txt");
  }

  /** keelson 3 runs (one failed), nginx 3 runs, direct 3 runs, haproxy never started. */
  static BenchResults results() {
    List<RunRecord> runs = List.of(
      run("http1-keepalive", "direct", 1, 200_000, 100, 300),
      run("http1-keepalive", "keelson", 1, 90_000, 200, 900),
      run("http1-keepalive", "nginx", 1, 80_000, 250, 1000),
      run("http1-keepalive", "direct", 2, 210_000, 110, 320),
      RunRecord.failed("http1-keepalive", "keelson", 2, "wrk exited with code 1", List.of("wrk"), "x"),
      run("http1-keepalive", "nginx", 2, 60_000, 260, 1200),
      run("http1-keepalive", "direct", 3, 190_000, 90, 310),
      run("http1-keepalive", "keelson", 3, 110_000, 180, 700),
      run("http1-keepalive", "nginx", 3, 70_000, 240, 1100));
    List<PeerSummary> peers = List.of(
      PeerSummary.of("http1-keepalive", "direct", runs.stream().filter(r -> r.peer().equals("direct")).toList(), null),
      PeerSummary.of("http1-keepalive", "keelson", runs.stream().filter(r -> r.peer().equals("keelson")).toList(), null),
      PeerSummary.of("http1-keepalive", "nginx", runs.stream().filter(r -> r.peer().equals("nginx")).toList(), null)
        .withStartup(0.05, 6.5).withWarmup(2),
      PeerSummary.of("http1-keepalive", "haproxy", List.of(), "haproxy exited with code 1 before it answered"));
    ScenarioSummary s = ScenarioSummary.of("http1-keepalive", "HTTP/1.1 keep-alive", "requests/s", List.of("wrk", "-t1", "-c16",
      "http://127.0.0.1:1/"), peers);
    MachineInfo machine = new MachineInfo(2, "Test CPU", "6.1.0", "Debian", "JDK 25", List.of("-Xmx1g"),
      "0.50 0.40 0.30 1/100 123", "1.50 0.60 0.35 2/100 124");
    return new BenchResults("bin/keelson bench --quick", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z",
      new BenchResults.Settings(List.of("http1-keepalive"), List.of("direct", "keelson", "nginx", "haproxy"), 3, 3,
        1, 16, true, "-Xmx256m", List.of()),
      machine, "proxy on core 0; load generator and upstream on core 1 (taskset)",
      Map.of("nginx", "nginx version: nginx/1.22.1"), runs, List.of(s), List.of(), List.of());
  }
}
