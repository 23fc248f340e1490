package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * h2load over h2c with prior knowledge: one thread, N connections, M concurrent streams each, for a
 * duration; latency percentiles come from its per-request log ({@code --log-file}). Immutable.
 */
final class H2loadLoad implements LoadGenerator {
  private static final Pattern REQUESTS = Pattern.compile(
    "requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored, (\\d+) timeout");
  private static final Pattern FINISHED = Pattern.compile("finished in ([0-9.]+)(m?s), ([0-9.]+) req/s");

  private final int streams;

  /** @param streams concurrent streams per connection (h2load -m) */
  H2loadLoad(int streams) {
    this.streams = streams;
  }

  @Override
  public List<Tools.Tool> tools() {
    return List.of(Tools.Tool.H2LOAD);
  }

  @Override
  public List<String> command(Tools tools, URI target, RunSpec spec) {
    String h2load = tools.find("h2load");
    List<String> cmd = new ArrayList<>(spec.cpus().prefix());
    cmd.addAll(List.of(h2load == null ? "h2load" : h2load, "-t1", "-c" + spec.connections(), "-m" + streams,
      "-D" + spec.durationSeconds(), "--log-file=" + logFile(spec), target.toString()));
    return cmd;
  }

  private static Path logFile(RunSpec spec) {
    return spec.rawOutput().resolveSibling(spec.rawOutput().getFileName() + ".requests.tsv");
  }

  @Override
  public Measurement run(Tools tools, URI target, RunSpec spec) throws IOException, InterruptedException {
    if (tools.find("h2load") == null) {
      throw new IOException(tools.whyMissing("h2load"));
    }
    List<String> cmd = command(tools, target, spec);
    Files.createDirectories(spec.rawOutput().getParent());
    Files.writeString(spec.rawOutput(), "# " + String.join(" ", cmd) + "\n");
    int exit;
    try (ManagedProcess p = ManagedProcess.start("h2load", CpuPinning.Cpus.NONE, cmd, spec.rawOutput(), Map.of())) {
      if (!p.waitFor(Duration.ofSeconds(spec.durationSeconds() + 30L))) {
        throw new IOException("h2load did not finish within " + (spec.durationSeconds() + 30) + " s; output in "
          + spec.rawOutput());
      }
      exit = p.exitCodeOrMinusOne();
    }
    String out = Files.readString(spec.rawOutput());
    if (exit != 0) {
      throw new IOException("h2load exited with code " + exit + "; output in " + spec.rawOutput());
    }
    Path log = logFile(spec);
    Measurement m = parse(out, Files.exists(log) ? Files.readAllLines(log) : List.of());
    Files.deleteIfExists(log); // per-request lines: large, and summarised in the measurement
    return m;
  }

  /** Parses h2load's summary and its per-request log (start µs, status, duration µs). */
  static Measurement parse(String output, List<String> requestLog) throws IOException {
    Matcher r = REQUESTS.matcher(output);
    Matcher f = FINISHED.matcher(output);
    if (!r.find() || !f.find()) {
      throw new IOException("cannot read h2load's summary: " + output.strip().lines().reduce((a, b) -> b).orElse(""));
    }
    long succeeded = Long.parseLong(r.group(4));
    long failed = Long.parseLong(r.group(5)) + Long.parseLong(r.group(6)) + Long.parseLong(r.group(7));
    double seconds = Double.parseDouble(f.group(1)) / (f.group(2).equals("ms") ? 1000.0 : 1.0);
    return new Measurement(seconds > 0 ? succeeded / seconds : 0, "requests/s", succeeded, seconds, failed,
      failed > 0 ? failed + " requests failed (h2load)" : "", percentiles(requestLog));
  }

  /** Latency percentiles (µs) from h2load's per-request log lines (start µs, status, duration µs). */
  static TreeMap<Double, Double> percentiles(List<String> requestLog) {
    long[] durations = requestLog.stream().map(l -> l.split("\t")).filter(c -> c.length >= 3)
      .mapToLong(c -> Long.parseLong(c[2].trim())).sorted().toArray();
    TreeMap<Double, Double> latency = new TreeMap<>();
    if (durations.length > 0) {
      for (double p : new double[] {50.0, 90.0, 99.0, 99.9}) {
        int at = (int) Math.min(durations.length - 1, Math.ceil(p / 100.0 * durations.length) - 1);
        latency.put(p, (double) durations[Math.max(0, at)]);
      }
    }
    return latency;
  }

  /** Readiness probe for a peer that speaks only h2c: one request must succeed. */
  static void awaitOk(Tools tools, URI target, ManagedProcess process, Duration timeout) throws PeerStartException {
    String h2load = tools.find("h2load");
    if (h2load == null) {
      throw new PeerStartException(tools.whyMissing("h2load"));
    }
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      try {
        Process p = new ProcessBuilder(h2load, "-n1", "-c1", target.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() == 0 && out.contains("1 succeeded")) {
          return;
        }
        Thread.sleep(200);
      } catch (IOException e) {
        throw new PeerStartException("cannot run h2load: " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PeerStartException("interrupted");
      }
    }
    throw new PeerStartException("no h2c answer from " + target + " within " + timeout);
  }

  @Override
  public String toString() {
    return "h2load -t1 -m" + streams;
  }
}
