package io.keelson.bench.e2e;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs the end-to-end scenarios: installs missing tools, starts the upstream, then per scenario
 * starts each peer, takes turns between them run after run, samples their memory and CPU, stops
 * them, and collects a {@link BenchResults}. A peer that fails is reported, never fatal.
 * Single-threaded.
 */
final class BenchRunner {
  private final BenchOptions options;
  private final List<Scenario> scenarios;
  private final List<BatchScenario> batches;
  private final PrintStream log;
  private final Path launcher;

  BenchRunner(BenchOptions options, List<Scenario> scenarios, List<BatchScenario> batches, PrintStream log,
      Path keelsonLauncher) {
    this.options = options;
    this.scenarios = scenarios;
    this.batches = batches;
    this.log = log;
    this.launcher = keelsonLauncher;
  }

  BenchResults run() throws IOException, InterruptedException {
    String started = Instant.now().toString();
    String loadAtStart = MachineInfo.loadAverageNow();
    Path out = options.out();
    Files.createDirectories(out);
    WrkLoad.writeScript(out);
    Tools tools = new Tools(options.install(), log);
    Set<Tools.Tool> needed = new LinkedHashSet<>();
    for (Scenario s : scenarios) {
      needed.addAll(s.tools(peersOf(s)));
    }
    tools.ensure(needed);
    CpuPinning pinning = CpuPinning.detect(tools);
    PeerSetup.KeelsonLaunch keelson =
        new PeerSetup.KeelsonLaunch(launcher, options.keelsonJvmOpts(), options.keelsonArgs());

    List<String> problems = new ArrayList<>();
    List<String> harnessFailures = new ArrayList<>();
    Map<String, String> versions = new LinkedHashMap<>();
    if (!scenarios.isEmpty()) {
      versions.put("wrk", Tools.version(tools.find("wrk"), "-v"));
    }
    for (Scenario s : scenarios) {
      for (String p : peersOf(s)) {
        versions.putIfAbsent(p, s.peerVersion(p, tools));
      }
    }
    if (!pinning.description().startsWith("proxy on")) {
      problems.add("cores " + pinning.description() + ": numbers are not comparable to a pinned run");
    }

    int steps = scenarios.stream().mapToInt(s -> peersOf(s).size() * options.runs()).sum();
    Progress progress = new Progress(log, steps, options.durationSeconds() + 0.5
      + (double) options.warmupSeconds() / options.runs());
    String pinned = pinning.describe(options.upstreamOnProxyCore());
    progress.note("results go to " + out.toAbsolutePath() + "; " + pinned);

    List<RunRecord> runs = new ArrayList<>();
    List<ScenarioSummary> summaries = new ArrayList<>();
    Upstream upstream = null;
    String upstreamError = null;
    try {
      if (scenarios.stream().anyMatch(Scenario::needsUpstream)) {
        try {
          upstream = Upstream.start(out.resolve("upstream"), tools, pinning.upstream(options.upstreamOnProxyCore()));
          progress.note("upstream nginx on " + upstream.uri());
        } catch (PeerStartException e) {
          upstreamError = e.getMessage();
          problems.add(upstreamError);
          progress.note(upstreamError);
          if (tools.find("nginx") != null) {
            harnessFailures.add(upstreamError);
          }
        }
      }
      for (Scenario s : scenarios) {
        ScenarioContext ctx = new ScenarioContext(out.resolve(s.name()), upstream, pinning, tools, keelson);
        ScenarioSummary summary = runScenario(s, ctx, progress, runs);
        summaries.add(summary);
        PeerSummary direct = ScenarioSummary.find(summary.peers(), "direct");
        boolean toolsThere = s.tools(peersOf(s)).stream().allMatch(t -> tools.find(t.binary()) != null);
        if (direct != null && !direct.ok() && toolsThere && upstreamError == null) {
          harnessFailures.add(s.name() + ": the direct baseline (load generator -> upstream) measured nothing: "
              + direct.error());
        }
      }
    } finally {
      if (upstream != null) {
        upstream.close();
      }
    }
    for (BatchScenario b : batches) {
      runBatch(b, tools, progress, runs, summaries, problems, versions);
    }
    List<String> names = new ArrayList<>(scenarios.stream().map(Scenario::name).toList());
    batches.forEach(b -> names.add(b.name()));
    BenchResults.Settings settings = new BenchResults.Settings(names,
      summaries.stream().flatMap(s -> s.peers().stream()).map(PeerSummary::peer).distinct().toList(), options.runs(),
      options.durationSeconds(), options.warmupSeconds(), options.connections(),
      options.quick(), options.keelsonJvmOpts(), options.keelsonArgs());
    return new BenchResults(options.commandLine(), started, Instant.now().toString(), settings,
      MachineInfo.collect(loadAtStart),
      pinned, versions, runs, summaries, problems, harnessFailures);
  }

  /** A batch scenario runs whole; each of its groups becomes a scenario of the summary. */
  private void runBatch(BatchScenario b, Tools tools, Progress progress, List<RunRecord> all,
      List<ScenarioSummary> summaries, List<String> problems, Map<String, String> versions)
      throws IOException, InterruptedException {
    String unavailable = b.unavailableReason(tools);
    if (unavailable != null) {
      progress.note(b.name() + ": skipped: " + unavailable);
      summaries.add(ScenarioSummary.of(b.name(), "skipped: " + unavailable, "", List.of(), List.of()));
      return;
    }
    if (b instanceof PacketPathScenario) {
      versions.putIfAbsent("dpdk", Tools.debianVersion("dpdk"));
    }
    List<BatchScenario.Group> groups;
    try {
      groups = b.run(options.out().resolve(b.name()), options.runs(), options.durationSeconds(), log);
    } catch (IOException | RuntimeException e) {
      // The harness of that scenario failed (e.g. DPDK refused a device): reported, the rest stands.
      String why = b.name() + " failed: " + e;
      progress.note(why);
      problems.add(why);
      summaries.add(ScenarioSummary.of(b.name(), why, "", List.of(), List.of()));
      return;
    }
    for (BatchScenario.Group g : groups) {
      all.addAll(g.runs());
      Map<String, List<RunRecord>> byPeer = new LinkedHashMap<>();
      g.runs().forEach(r -> byPeer.computeIfAbsent(r.peer(), k -> new ArrayList<>()).add(r));
      List<PeerSummary> peers = new ArrayList<>();
      byPeer.forEach((peer, runs) -> peers.add(PeerSummary.of(g.scenario(), peer, runs, null)));
      summaries.add(ScenarioSummary.of(g.scenario(), g.description(), g.unit(), List.of(), peers));
    }
  }

  /** One more try on a new port when another process took the one we picked. */
  private static Contender startWithRetry(Scenario s, String peer, ScenarioContext ctx)
      throws IOException, PeerStartException {
    try {
      return s.start(peer, ctx);
    } catch (PeerStartException e) {
      if (!e.portTaken()) {
        throw e;
      }
      return s.start(peer, ctx);
    }
  }

  private List<String> peersOf(Scenario s) {
    return s.peers().stream().filter(options::includes).toList();
  }

  private ScenarioSummary runScenario(Scenario s, ScenarioContext ctx, Progress progress, List<RunRecord> all)
    throws IOException, InterruptedException {
    Files.createDirectories(ctx.dir());
    String unavailable = s.unavailableReason(ctx.tools());
    if (unavailable != null) {
      progress.note(s.name() + ": skipped: " + unavailable);
      progress.skip(peersOf(s).size() * options.runs());
      List<PeerSummary> skipped = peersOf(s).stream()
          .map(p -> PeerSummary.skipped(s.name(), p, unavailable)).toList();
      return ScenarioSummary.of(s.name(), s.description(), "requests/s", List.of(), skipped);
    }
    Map<String, Contender> started = new LinkedHashMap<>();
    Map<String, String> startErrors = new LinkedHashMap<>();
    Map<String, double[]> startups = new LinkedHashMap<>(); // peer -> {seconds to ready, idle RSS MiB}
    Map<String, Integer> warmups = new LinkedHashMap<>(); // peer -> warm-up seconds used
    Map<String, List<RunRecord>> byPeer = new LinkedHashMap<>();
    List<String> exampleCommand = List.of();
    try {
      for (String peer : peersOf(s)) {
        byPeer.put(peer, new ArrayList<>());
        try {
          progress.note(s.name() + ": starting " + peer);
          long t0 = System.nanoTime();
          Contender c = startWithRetry(s, peer, ctx);
          double ready = (System.nanoTime() - t0) / 1e9;
          started.put(peer, c);
          if (c.process() != null) {
            long rss = c.process().tree().stream().mapToLong(h -> ResourceSampler.rssKb(h.pid())).sum();
            startups.put(peer, new double[] {ready, rss / 1024.0});
          }
        } catch (PeerStartException | IOException e) {
          startErrors.put(peer, e.getMessage());
          progress.note(s.name() + ": " + peer + " failed to start, skipping it: " + e.getMessage());
          progress.skip(options.runs());
        }
      }
      for (int run = 1; run <= options.runs(); run++) {
        for (Map.Entry<String, Contender> e : started.entrySet()) {
          String peer = e.getKey();
          Contender c = e.getValue();
          String died = startErrors.get(peer);
          if (died != null) {
            RunRecord notRun = RunRecord.failed(s.name(), peer, run, "not run: " + died, List.of(), "");
            byPeer.get(peer).add(notRun);
            all.add(notRun);
            continue;
          }
          if (run == 1 && options.warmupSeconds() > 0) {
            int used = warmUp(s, ctx, c);
            warmups.put(peer, used);
          }
          progress.step(s.name(), peer, run, options.runs());
          RunRecord r = measureOnce(s, ctx, c, run);
          if (exampleCommand.isEmpty() && peer.equals("keelson")) {
            exampleCommand = r.command();
          }
          byPeer.get(peer).add(r);
          all.add(r);
          if (c.process() != null && !c.process().isAlive()) {
            String why = peer + " exited with code " + c.process().exitCodeOrMinusOne() + " during run " + run
              + "; " + HttpProbe.logTail(c.process().log());
            startErrors.put(peer, why);
            progress.note(s.name() + ": " + why);
            progress.skip(options.runs() - run);
          }
        }
      }
    } finally {
      for (Contender c : started.values()) {
        c.close();
      }
    }
    List<PeerSummary> peers = new ArrayList<>();
    for (String peer : byPeer.keySet()) {
      // A peer that died mid-way keeps the runs it completed; its later runs are failed "not run" records.
      String neverStarted = started.containsKey(peer) ? null : startErrors.get(peer);
      PeerSummary summary = PeerSummary.of(s.name(), peer, byPeer.get(peer), neverStarted);
      double[] startup = startups.get(peer);
      if (startup != null) {
        summary = summary.withStartup(startup[0], startup[1]);
      }
      peers.add(summary.withWarmup(warmups.getOrDefault(peer, 0)));
    }
    if (exampleCommand.isEmpty() && !all.isEmpty()) {
      exampleCommand = all.getLast().command();
    }
    String unit = all.stream().filter(r -> r.scenario().equals(s.name()) && r.ok()).map(RunRecord::unit).findFirst()
        .orElse("requests/s");
    return ScenarioSummary.of(s.name(), s.description(), unit, exampleCommand, peers);
  }

  /**
   * Unrecorded load in 1-second slices until three slices in a row agree within
   * {@link #STEADY_WITHIN} of the highest of them, or --warmup seconds have passed: a JIT-compiled
   * proxy needs seconds to reach its steady state, nginx and HAProxy are there at once, so each gets
   * what it needs. Two slices were not enough: a proxy still climbing slowly through JIT compilation
   * (261 then 279 req/s on the HTTP/2-over-TLS path) looked steady. Returns the seconds used.
   */
  private int warmUp(Scenario s, ScenarioContext ctx, Contender c) throws InterruptedException {
    double beforePrevious = Double.NaN;
    double previous = Double.NaN;
    for (int slice = 1; slice <= options.warmupSeconds(); slice++) {
      RunSpec spec = new RunSpec(1, options.connections(), ctx.pinning().load(),
          ctx.dir().resolve("runs").resolve(c.peer() + "-warmup" + slice + ".txt"));
      double rate;
      try {
        rate = s.measure(c, spec, ctx.tools()).ratePerSecond();
      } catch (IOException | IllegalArgumentException e) {
        return slice; // the measured runs report the same failure with its details
      }
      if (slice >= STEADY_SLICES && isSteady(beforePrevious, previous, rate)) {
        return slice;
      }
      beforePrevious = previous;
      previous = rate;
    }
    return options.warmupSeconds();
  }

  /** Warm-up slices in a row this close (relative to the highest) mean the peer is steady. */
  static final double STEADY_WITHIN = 0.10;

  /** How many warm-up slices in a row must agree. */
  static final int STEADY_SLICES = 3;

  static boolean isSteady(double a, double b, double c) {
    double max = Math.max(a, Math.max(b, c));
    double min = Math.min(a, Math.min(b, c));
    return max - min <= STEADY_WITHIN * max;
  }

  private RunRecord measureOnce(Scenario s, ScenarioContext ctx, Contender c, int run) throws InterruptedException {
    Path raw = ctx.dir().resolve("runs").resolve(c.peer() + "-run" + run + ".txt");
    RunSpec spec = new RunSpec(options.durationSeconds(), options.connections(), ctx.pinning().load(), raw);
    List<String> command = s.loadCommand(c, spec, ctx.tools());
    String rawName = options.out().relativize(raw).toString();
    ResourceSampler sampler = ResourceSampler.start(c.process());
    try {
      Measurement m = s.measure(c, spec, ctx.tools());
      return RunRecord.of(s.name(), c.peer(), run, m, ResourceSampler.stop(sampler), command, rawName);
    } catch (IOException | IllegalArgumentException e) {
      ResourceSampler.stop(sampler);
      return RunRecord.failed(s.name(), c.peer(), run, e.getMessage(), command, rawName);
    }
  }
}
