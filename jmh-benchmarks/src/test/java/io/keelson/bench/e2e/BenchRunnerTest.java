package io.keelson.bench.e2e;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The runner's orchestration (turn order, warm-up, failures, skipped scenarios) with a scenario
 * whose peers are scripted; the real peers are exercised by {@link EndToEndBenchTest}.
 */
class BenchRunnerTest {
  private final ByteArrayOutputStream log = new ByteArrayOutputStream();

  @Test
  void peersTakeTurnsRunAfterRunAndWarmUpOnlyBeforeTheirFirstRun(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("a", "b", "c"), null, null);

    BenchResults r = runner(dir, s, "--runs", "2", "--duration", "2", "--warmup", "1").run();

    assertThat(s.calls).containsExactly("a:warmup", "a:2s", "b:warmup", "b:2s", "c:warmup", "c:2s", "a:2s", "b:2s",
        "c:2s");
    assertThat(r.runs()).extracting(RunRecord::peer).containsExactly("a", "b", "c", "a", "b", "c");
    assertThat(r.runs()).extracting(RunRecord::run).containsExactly(1, 1, 1, 2, 2, 2);
    assertThat(r.allOk()).isTrue();
    assertThat(log.toString()).contains("scripted · b · run 2 of 2 · step 5/6");
  }

  @Test
  void warmUpLastsUntilThreeOneSecondSlicesInARowAgree(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("steady", "jit"), null, null);

    BenchResults r = runner(dir, s, "--runs", "1", "--duration", "2", "--warmup", "10").run();

    // jit: 100, 500, 900, 950, 960 — 900/950 alone would look steady; 900/950/960 are
    assertThat(s.calls).containsExactly("steady:warmup", "steady:warmup", "steady:warmup", "steady:2s",
        "jit:warmup", "jit:warmup", "jit:warmup", "jit:warmup", "jit:warmup", "jit:2s");
    assertThat(r.summaries().getFirst().peers()).extracting(PeerSummary::warmupSeconds).containsExactly(3, 5);
  }

  @Test
  void twoCloseSlicesOfASlowlyClimbingProxyAreNotSteady() {
    assertThat(BenchRunner.isSteady(261, 279, 300)).isFalse();
    assertThat(BenchRunner.isSteady(300, 320, 330)).isTrue();
  }

  @Test
  void warmUpStopsAtItsLimit(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("jit"), null, null);

    runner(dir, s, "--runs", "1", "--duration", "2", "--warmup", "3").run();

    assertThat(s.calls).containsExactly("jit:warmup", "jit:warmup", "jit:warmup", "jit:2s");
  }

  @Test
  void aPeerWhosePortWasTakenMeanwhileGetsOneMoreTry(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("racy"), null, null);

    BenchResults r = runner(dir, s, "--runs", "1", "--warmup", "0").run();

    assertThat(s.starts).containsExactly("racy", "racy");
    assertThat(r.allOk()).isTrue();
  }

  @Test
  void aPeerThatFailsToStartIsReportedWhileTheOthersRun(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("a", "keelson", "c"), "keelson", null);

    BenchResults r = runner(dir, s, "--runs", "3", "--duration", "1", "--warmup", "0").run();

    assertThat(r.runs()).extracting(RunRecord::peer).containsExactly("a", "c", "a", "c", "a", "c");
    PeerSummary keelson = ScenarioSummary.find(r.summaries().getFirst().peers(), "keelson");
    assertThat(keelson.status()).isEqualTo("failed");
    assertThat(keelson.error()).isEqualTo("keelson: scripted start failure");
    assertThat(r.allOk()).isFalse();
    assertThat(r.summaries().getFirst().ratios().get("requests/s keelson/a")).isNaN();
  }

  @Test
  void aPeerThatDiesMidwayKeepsItsRunsAndItsLaterRunsFail(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("a", "dies"), null, null);

    BenchResults r = runner(dir, s, "--runs", "3", "--duration", "1", "--warmup", "0").run();

    assertThat(s.calls).containsExactly("a:1s", "dies:1s", "a:1s", "a:1s");
    List<RunRecord> dies = r.runs().stream().filter(x -> x.peer().equals("dies")).toList();
    assertThat(dies).extracting(RunRecord::status).containsExactly("ok", "failed", "failed");
    assertThat(dies.get(1).error()).startsWith("not run: dies exited with code 3 during run 1");
    PeerSummary summary = ScenarioSummary.find(r.summaries().getFirst().peers(), "dies");
    assertThat(summary.status()).isEqualTo("partial");
    assertThat(summary.ratePerSecond()).isEqualTo(1000.0);
    assertThat(r.allOk()).isFalse();
  }

  @Test
  void aDirectBaselineThatMeasuresNothingMeansTheBenchItselfIsBroken(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("direct", "keelson"), "direct", null);

    BenchResults r = runner(dir, s, "--runs", "1", "--warmup", "0").run();

    assertThat(r.harnessFailures()).singleElement().asString()
        .contains("the direct baseline (load generator -> upstream) measured nothing", "scripted start failure");
  }

  @Test
  void aFailingProxyIsNotAHarnessFailure(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("direct", "keelson"), "keelson", null);

    assertThat(runner(dir, s, "--runs", "1", "--warmup", "0").run().harnessFailures()).isEmpty();
  }

  @Test
  void anUnavailableScenarioIsSkippedWithoutCountingAsAFailure(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("a", "b"), null, "DPDK is not installed");

    BenchResults r = runner(dir, s, "--runs", "3").run();

    assertThat(s.calls).isEmpty();
    assertThat(r.summaries().getFirst().peers()).extracting(PeerSummary::status).containsOnly("skipped");
    assertThat(r.allOk()).isTrue();
    assertThat(SummaryMarkdown.render(r, List.of())).contains("| a | skipped |", "- a skipped: DPDK is not installed");
  }

  @Test
  void onlyThePeersNamedWithPeersRun(@TempDir Path dir) throws Exception {
    ScriptedScenario s = new ScriptedScenario(List.of("direct", "keelson", "nginx"), null, null);

    BenchResults r = runner(dir, s, "--runs", "1", "--warmup", "0", "--peers", "keelson,nginx").run();

    assertThat(r.runs()).extracting(RunRecord::peer).containsExactly("keelson", "nginx");
    assertThat(r.settings().peers()).containsExactly("keelson", "nginx");
  }

  private BenchRunner runner(Path dir, Scenario s, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--no-install", "--out", dir.toString()));
    return new BenchRunner(BenchOptions.parse(all.toArray(String[]::new)), List.of(s), List.of(), new PrintStream(log, true),
        dir.resolve("no-launcher"));
  }

  /** Peers that "serve" at once and report a fixed rate; records every measure call. */
  private static final class ScriptedScenario implements Scenario {
    final List<String> calls = new ArrayList<>();
    final List<String> starts = new ArrayList<>();
    private final List<String> peers;
    private final String failingPeer;
    private final String unavailable;

    ScriptedScenario(List<String> peers, String failingPeer, String unavailable) {
      this.peers = peers;
      this.failingPeer = failingPeer;
      this.unavailable = unavailable;
    }

    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public String description() {
      return "scripted peers";
    }

    @Override
    public String unavailableReason(Tools tools) {
      return unavailable;
    }

    @Override
    public List<String> peers() {
      return peers;
    }

    @Override
    public List<Tools.Tool> tools(List<String> selected) {
      return List.of();
    }

    @Override
    public boolean needsUpstream() {
      return false;
    }

    @Override
    public String peerVersion(String peer, Tools tools) {
      return peer + " 1.0";
    }

    @Override
    public Contender start(String peer, ScenarioContext context) throws PeerStartException {
      starts.add(peer);
      if (peer.equals("racy") && starts.size() == 1) {
        throw new PeerStartException("racy exited with code 1; log ends with: bind() failed (98: Address already in use)");
      }
      if (peer.equals(failingPeer)) {
        throw new PeerStartException(peer + ": scripted start failure");
      }
      if (peer.equals("dies")) {
        // A real process that exits during its first run: the runner must notice and stop using it.
        try {
          ManagedProcess p = ManagedProcess.start(peer, CpuPinning.Cpus.NONE, List.of("sh", "-c", "exit 3"),
              context.dir().resolve("dies.log"), Map.of());
          p.waitFor(java.time.Duration.ofSeconds(10));
          return new Contender(peer, URI.create("http://127.0.0.1:1/" + peer), p);
        } catch (java.io.IOException | InterruptedException e) {
          throw new PeerStartException(e.toString());
        }
      }
      return new Contender(peer, URI.create("http://127.0.0.1:1/" + peer), null);
    }

    @Override
    public List<String> loadCommand(Contender contender, RunSpec spec, Tools tools) {
      return List.of("load", contender.target().toString());
    }

    @Override
    public Measurement measure(Contender contender, RunSpec spec, Tools tools) {
      boolean warmup = spec.rawOutput().getFileName().toString().contains("warmup");
      calls.add(contender.peer() + ":" + (warmup ? "warmup" : spec.durationSeconds() + "s"));
      // "jit" speeds up over its first slices, like a JVM compiling its hot path; the others are steady.
      double[] jit = {100, 500, 900, 950, 960};
      long slices = calls.stream().filter(c -> c.equals(contender.peer() + ":warmup")).count();
      double rate = contender.peer().equals("jit") && warmup ? jit[(int) Math.min(slices, jit.length) - 1] : 1000;
      return new Measurement(rate, "requests/s", 1000L * spec.durationSeconds(), spec.durationSeconds(), 0, "",
          new TreeMap<>(Map.of(50.0, 100.0, 99.0, 200.0)));
    }
  }
}
