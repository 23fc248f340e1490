package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * HTTP/2 over TLS with a new TLS handshake per connection and only a few requests on each: h2load
 * has no "reconnect after N requests" option (with {@code -D} a closed connection is never replaced,
 * even after a GOAWAY), so this runs h2load in batches, back to back, until the duration is spent.
 * Each batch opens {@code connections} new TLS connections at once (ALPN h2), each sends
 * {@code requestsPerConnection} requests one at a time ({@code -m1}) and closes. The rate is the
 * requests of all batches over the sum of h2load's own "finished in" times, so h2load's process
 * start-up between batches is not counted against the peer; latency percentiles come from all
 * batches' per-request logs. Immutable.
 */
final class H2loadHandshakeLoad implements LoadGenerator {
  private final int requestsPerConnection;

  H2loadHandshakeLoad(int requestsPerConnection) {
    this.requestsPerConnection = requestsPerConnection;
  }

  @Override
  public List<Tools.Tool> tools() {
    return List.of(Tools.Tool.H2LOAD);
  }

  /** One batch's command; the run repeats it until the duration is spent. */
  @Override
  public List<String> command(Tools tools, URI target, RunSpec spec) {
    String h2load = tools.find("h2load");
    List<String> cmd = new ArrayList<>(spec.cpus().prefix());
    cmd.addAll(List.of(h2load == null ? "h2load" : h2load, "-t1", "-c" + spec.connections(), "-m1",
      "-n" + (long) spec.connections() * requestsPerConnection, "--log-file=" + logFile(spec), target.toString()));
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
    Files.writeString(spec.rawOutput(), "# repeated until " + spec.durationSeconds() + " s have passed: "
      + String.join(" ", cmd) + "\n");
    Path batchOutput = spec.rawOutput().resolveSibling(spec.rawOutput().getFileName() + ".batch");
    Path log = logFile(spec);
    List<String> requestLog = new ArrayList<>();
    long succeeded = 0;
    long failed = 0;
    double seconds = 0;
    int batches = 0;
    long end = System.nanoTime() + Duration.ofSeconds(spec.durationSeconds()).toNanos();
    do {
      Files.deleteIfExists(batchOutput);
      Files.deleteIfExists(log);
      int exit;
      try (ManagedProcess p = ManagedProcess.start("h2load", CpuPinning.Cpus.NONE, cmd, batchOutput, Map.of())) {
        if (!p.waitFor(Duration.ofSeconds(60))) {
          throw new IOException("an h2load batch did not finish within 60 s; output in " + batchOutput);
        }
        exit = p.exitCodeOrMinusOne();
      }
      String out = Files.readString(batchOutput);
      if (exit != 0) {
        throw new IOException("h2load exited with code " + exit + "; output in " + batchOutput);
      }
      Measurement batch = H2loadLoad.parse(out, List.of());
      succeeded += batch.operations();
      failed += batch.errors();
      seconds += batch.seconds();
      batches++;
      if (Files.exists(log)) {
        requestLog.addAll(Files.readAllLines(log));
      }
      Files.writeString(spec.rawOutput(), out.lines().filter(l -> l.startsWith("finished in") || l.startsWith("requests:"))
        .reduce("", (a, b) -> a + b + "\n"), java.nio.file.StandardOpenOption.APPEND);
    } while (System.nanoTime() < end);
    Files.deleteIfExists(batchOutput);
    Files.deleteIfExists(log);
    Files.writeString(spec.rawOutput(), batches + " batches, " + (long) batches * spec.connections()
      + " TLS connections\n", java.nio.file.StandardOpenOption.APPEND);
    return new Measurement(seconds > 0 ? succeeded / seconds : 0, "requests/s", succeeded, seconds, failed,
      failed > 0 ? failed + " requests failed (h2load)" : "", H2loadLoad.percentiles(requestLog));
  }

  @Override
  public String toString() {
    return "h2load -t1 -m1, " + requestsPerConnection + " requests per new TLS connection, in batches";
  }
}
