package io.keelson.bench.e2e;

import io.keelson.testkit.OtlpCollector;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Keelson's data plane: {@code bin/keelson proxy --config FILE --admin ... --concurrency 1}, its
 * JVM options from {@code KEELSON_JVM_OPTS}. Ready when {@code /ready} on the admin port and a
 * request through the listener both answer 200. Stateless.
 */
final class KeelsonPeer implements HttpPeer {
  /**
   * Trace sampling percentage of the observed variant of a scenario (an access log file, tracing at this
   * rate with spans exported to an in-bench OTLP collector), or a negative number for the default config.
   */
  private final double samplingPercent;
  /** Run with a retry policy and outlier detection (the resilient variant of a scenario). */
  private final boolean resilient;

  KeelsonPeer() {
    this(false);
  }

  /** @param observed an access log file and 1% trace sampling exported over OTLP */
  KeelsonPeer(boolean observed) {
    this(observed, false);
  }

  KeelsonPeer(boolean observed, boolean resilient) {
    this(observed ? 1 : -1, resilient);
  }

  /** @param samplingPercent observed with this trace sampling percentage (0..100), or negative for the default config */
  KeelsonPeer(double samplingPercent, boolean resilient) {
    this("keelson", samplingPercent, resilient);
  }

  /**
   * @param name            the peer's name in the results: "keelson", or a variant's name when one scenario
   *                        compares several Keelson configurations in turns
   * @param samplingPercent observed with this trace sampling percentage (0..100), or negative for the default config
   */
  KeelsonPeer(String name, double samplingPercent, boolean resilient) {
    this.name = name;
    this.samplingPercent = samplingPercent;
    this.resilient = resilient;
  }

  private final String name;

  /** Generous: the launcher rebuilds first when sources changed since the last build. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

  @Override
  public String name() {
    return name;
  }

  @Override
  public List<Tools.Tool> tools() {
    return List.of();
  }

  @Override
  public String version(Tools tools) {
    return "keelson " + gitRevision(BenchCommand.keelsonHome()) + ", JDK " + Runtime.version();
  }

  /** The checkout's commit ("commit a1b2c3d", "+dirty" with local changes), so a result names the code it measured. */
  static String gitRevision(Path home) {
    String rev = git(home, "rev-parse", "--short", "HEAD");
    if (rev == null || !rev.strip().matches("[0-9a-f]{7,40}")) {
      return "(not a git checkout)";
    }
    String status = git(home, "status", "--porcelain", "--untracked-files=no");
    return "commit " + rev.strip() + (status == null || status.isBlank() ? "" : "+dirty");
  }

  /** git's standard output, or null when git is missing or fails. */
  private static String git(Path home, String... args) {
    List<String> cmd = new ArrayList<>(List.of("git", "-C", home.toString()));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes());
      return p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  @Override
  public Contender start(PeerSetup setup) throws IOException, PeerStartException {
    PeerSetup.KeelsonLaunch launch = setup.keelson();
    if (launch.launcher() == null || !Files.isExecutable(launch.launcher())) {
      throw new PeerStartException("cannot find bin/keelson (" + launch.launcher()
        + "); run the bench through bin/keelson bench, which sets -Dkeelson.home");
    }
    int port = FreePorts.next();
    int admin = FreePorts.next();
    Files.createDirectories(setup.dir());
    Path conf = setup.dir().resolve("keelson.yaml");
    OtlpCollector sink = samplingPercent < 0 ? null : OtlpCollector.countingOnly();
    String yaml = KeelsonBootstrap.observedProxy(port, setup.upstreamHost(), setup.upstreamPort(), sink == null ? null
      : new KeelsonBootstrap.Observed(setup.dir().resolve("access.log"), samplingPercent, sink.port()), resilient);
    Files.writeString(conf, setup.tls() == null ? yaml : KeelsonBootstrap.withTls(yaml, setup.tls()));
    List<String> cmd = new ArrayList<>(List.of(launch.launcher().toString(), "proxy", "--config", conf.toString(),
      "--admin", "127.0.0.1:" + admin, "--concurrency", "1"));
    cmd.addAll(launch.extraArgs());
    ManagedProcess p;
    try {
      p = ManagedProcess.start(name(), setup.cpus(), cmd, setup.dir().resolve("stdout.log"),
        Map.of("KEELSON_JVM_OPTS", launch.jvmOpts()));
    } catch (IOException | RuntimeException e) {
      if (sink != null) {
        sink.close();
      }
      throw e;
    }
    Contender c = new Contender(name(), setup.target(port), p,
      sink == null ? null : reportingOnClose(sink, setup.dir().resolve("otlp-sink.txt")));
    try {
      HttpProbe.awaitOk(URI.create("http://127.0.0.1:" + admin + "/ready"), p, START_TIMEOUT);
      HttpProbe.awaitOk(c.target(), p, Duration.ofSeconds(15));
    } catch (PeerStartException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Closes {@code sink}, then writes what it received to {@code report} (informational: a failed write is ignored). */
  static AutoCloseable reportingOnClose(OtlpCollector sink, Path report) {
    return () -> {
      sink.close();
      try {
        Files.writeString(report, "OTLP export requests received: " + sink.requests() + ", bytes: " + sink.bytes() + "\n");
      } catch (IOException e) {
        // the report is informational; the measurement stands without it
      }
    };
  }
}
