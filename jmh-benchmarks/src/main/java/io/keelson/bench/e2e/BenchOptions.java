package io.keelson.bench.e2e;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/** The parsed command line of {@code keelson bench}. Immutable. */
record BenchOptions(List<String> scenarios, List<String> peers, boolean quick, int runs, int durationSeconds,
          int warmupSeconds, int connections, boolean jmh, String jmhPattern, Path out, boolean install,
          boolean strict, String keelsonJvmOpts, List<String> keelsonArgs, boolean help, List<String> argv,
          boolean upstreamOnProxyCore) {

  /** Whether {@code peer} takes part: every peer unless --peers named some. */
  boolean includes(String peer) {
    return peers.isEmpty() || peers.contains(peer);
  }

  static final String DEFAULT_KEELSON_JVM_OPTS = "-Xms256m -Xmx256m -XX:+AlwaysPreTouch";

  static final String USAGE = """
    Usage: bin/keelson bench [SCENARIO...] [options]

    Runs Keelson side by side with nginx and HAProxy (and the upstream alone, "direct") on the same
    upstream, load generator and core pinning, in turns (direct keelson nginx haproxy, repeated),
    and writes results.json, summary.md and PNG charts. See shared/BENCHMARKS.md.

    Scenarios (default: all):
    %s
    Options:
      --quick                every scenario but packet, short: %d runs of %d s, %d connections, warm-up <= %d s (< 2 min; CI smoke)
      --runs N               measured runs per peer, interleaved (default 3)
      --duration S           seconds per measured run (default 10)
      --warmup S             at most S seconds of unrecorded load before each peer's first run, in 1 s
                             slices until three in a row agree within 10%% (default 10; 0 = none)
      --connections C        concurrent connections of the load generator (default 50)
      --peers LIST           comma-separated subset of the peers, e.g. keelson,nginx (default all)
      --jmh [PATTERN]        run the JMH micro-benchmarks (matching the regex PATTERN) instead of,
                             or with named SCENARIOs in addition to, the end-to-end scenarios
      --out DIR              results directory (default bench-results/<timestamp>)
      --no-install           never apt-get install missing peers; skip them with a message
      --strict               exit 1 when any peer failed to start or any run failed (default: report only)
      --keelson-jvm-opts S   KEELSON_JVM_OPTS for the Keelson proxy (default "%s")
      --keelson-arg ARG      extra argument for `keelson proxy` (repeatable), e.g. --keelson-arg=--pipeline=disruptor
      --upstream-on-proxy-core
                             run the upstream on the proxy core (core 0) with the proxy, leaving core 1 to the
                             load generator alone: the load generator is never starved by the upstream, and
                             the proxy's CPU per request is unchanged (default: upstream on core 1 with wrk)
      -h, --help             this text

    bin/keelson bench xds-convergence [PROXIES,... [ENDPOINTS,... [ROUNDS]]] instead runs the control plane's
    convergence benchmark (issue 4; see docs/control-plane.md), e.g. `xds-convergence 1000 10000 5`.

    Pinning: the proxy under test runs alone on core 0 (taskset -c 0), wrk and the upstream on core 1.
    Exit code: 0 when the bench ran (failed peers are reported in the summary), 1 when the bench itself
    failed, or with --strict when a peer or run failed; 2 on a usage error.
    """;

  static final int QUICK_RUNS = 3;
  static final int QUICK_DURATION = 3;
  static final int QUICK_CONNECTIONS = 16;
  static final int QUICK_WARMUP = 3;

  static String usage() {
    StringBuilder s = new StringBuilder();
    for (Scenario sc : Scenarios.builtIn(Path.of("."))) {
      s.append(String.format("  %-22s %s%n", sc.name(), sc.description()));
    }
    for (BatchScenario sc : Scenarios.batches(Path.of("."))) {
      s.append(String.format("  %-22s %s%n", sc.name(), sc.description()));
    }
    return USAGE.formatted(s, QUICK_RUNS, QUICK_DURATION, QUICK_CONNECTIONS, QUICK_WARMUP, DEFAULT_KEELSON_JVM_OPTS);
  }

  /** @throws IllegalArgumentException with a message naming the bad argument */
  static BenchOptions parse(String... args) {
    List<String> known = Scenarios.names();
    List<String> scenarios = new ArrayList<>();
    List<String> peers = List.of(); // empty: every peer of every scenario
    List<String> keelsonArgs = new ArrayList<>();
    boolean quick = false, jmh = false, install = true, strict = false, help = false, upstreamOnProxy = false;
    Integer runs = null, duration = null, warmup = null, connections = null;
    String jmhPattern = null, jvmOpts = DEFAULT_KEELSON_JVM_OPTS;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String inline = null;
      if (a.startsWith("--") && a.contains("=")) {
        inline = a.substring(a.indexOf('=') + 1);
        a = a.substring(0, a.indexOf('='));
      }
      switch (a) {
        case "-h", "--help" -> help = true;
        case "--quick" -> quick = true;
        case "--no-install" -> install = false;
        case "--strict" -> strict = true;
        case "--upstream-on-proxy-core" -> upstreamOnProxy = true;
        case "--runs" -> runs = positive(a, inline != null ? inline : value(args, ++i, a));
        case "--duration" -> duration = positive(a, inline != null ? inline : value(args, ++i, a));
        case "--warmup" -> warmup = nonNegative(a, inline != null ? inline : value(args, ++i, a));
        case "--connections" -> connections = positive(a, inline != null ? inline : value(args, ++i, a));
        case "--out" -> out = Path.of(inline != null ? inline : value(args, ++i, a));
        case "--keelson-jvm-opts" -> jvmOpts = inline != null ? inline : value(args, ++i, a);
        case "--keelson-arg" -> keelsonArgs.add(inline != null ? inline : value(args, ++i, a));
        case "--peers" -> {
          peers = List.of((inline != null ? inline : value(args, ++i, a)).split(","));
          List<String> knownPeers = Scenarios.peerNames();
          for (String p : peers) {
            if (!knownPeers.contains(p)) {
              throw new IllegalArgumentException("--peers: unknown peer '" + p + "'; known: "
                + String.join(",", knownPeers));
            }
          }
        }
        case "--jmh" -> {
          jmh = true;
          if (inline != null) {
            jmhPattern = inline;
          } else if (i + 1 < args.length && !args[i + 1].startsWith("-") && !known.contains(args[i + 1])) {
            jmhPattern = args[++i];
          }
        }
        default -> {
          if (a.startsWith("-")) {
            throw new IllegalArgumentException("unknown option " + a + " (see --help)");
          }
          if (!known.contains(a)) {
            throw new IllegalArgumentException("unknown scenario '" + a + "'; known: " + String.join(", ", known));
          }
          if (!scenarios.contains(a)) {
            scenarios.add(a);
          }
        }
      }
    }
    if (scenarios.isEmpty() && !jmh) {
      boolean q = quick;
      known.stream().filter(n -> !q || !Scenarios.NOT_IN_QUICK.contains(n)).forEach(scenarios::add);
    }
    if (out == null) {
      out = Path.of("bench-results", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }
    // Absolute: peers resolve their paths against their own directories (nginx -p).
    out = out.toAbsolutePath();
    return new BenchOptions(List.copyOf(scenarios), List.copyOf(peers), quick,
      runs != null ? runs : 3,
      duration != null ? duration : quick ? QUICK_DURATION : 10,
      warmup != null ? warmup : quick ? QUICK_WARMUP : 10,
      connections != null ? connections : quick ? QUICK_CONNECTIONS : 50,
      jmh, jmhPattern, out, install, strict, jvmOpts, List.copyOf(keelsonArgs), help, List.of(args), upstreamOnProxy);
  }

  /** The command line as a person would type it, for the summary. */
  String commandLine() {
    List<String> words = new ArrayList<>(List.of("bin/keelson", "bench"));
    words.addAll(argv);
    return ShellWords.join(words);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value (see --help)");
    }
    return args[i];
  }

  private static int positive(String option, String v) {
    int n = nonNegative(option, v);
    if (n == 0) {
      throw new IllegalArgumentException(option + " must be at least 1, got 0");
    }
    return n;
  }

  private static int nonNegative(String option, String v) {
    try {
      int n = Integer.parseInt(v);
      if (n < 0) {
        throw new IllegalArgumentException(option + " must not be negative, got " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " expects a whole number, got '" + v + "'");
    }
  }
}
