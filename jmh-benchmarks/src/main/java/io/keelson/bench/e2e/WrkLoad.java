package io.keelson.bench.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * wrk, one thread, N connections, optional extra headers (e.g. {@code Connection: close} for a new
 * connection per request), reporting through the bench's Lua {@code done()} script. Immutable.
 */
final class WrkLoad implements LoadGenerator {
  private final List<String> headers;
  private final Path script;

  /** @param script where the Lua report script is (written once per results directory by {@link #writeScript}) */
  WrkLoad(List<String> headers, Path script) {
    this.headers = List.copyOf(headers);
    this.script = script;
  }

  /** Writes wrk-report.lua into {@code dir} and returns its path. */
  static Path writeScript(Path dir) {
    try (InputStream in = WrkLoad.class.getResourceAsStream("wrk-report.lua")) {
      if (in == null) {
        throw new IllegalStateException("wrk-report.lua is missing from the classpath (broken build?)");
      }
      Path out = dir.resolve("wrk-report.lua");
      Files.createDirectories(dir);
      Files.write(out, in.readAllBytes());
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write wrk-report.lua into " + dir, e);
    }
  }

  @Override
  public List<Tools.Tool> tools() {
    return List.of(Tools.Tool.WRK);
  }

  @Override
  public List<String> command(Tools tools, URI target, RunSpec spec) {
    String wrk = tools.find("wrk");
    List<String> cmd = new ArrayList<>(spec.cpus().prefix());
    cmd.addAll(List.of(wrk == null ? "wrk" : wrk, "-t1", "-c" + spec.connections(), "-d" + spec.durationSeconds() + "s",
      "--timeout", "5s", "-s", script.toString()));
    for (String h : headers) {
      cmd.add("-H");
      cmd.add(h);
    }
    cmd.add(target.toString());
    return cmd;
  }

  @Override
  public Measurement run(Tools tools, URI target, RunSpec spec) throws IOException, InterruptedException {
    if (tools.find("wrk") == null) {
      throw new IOException(tools.whyMissing("wrk"));
    }
    List<String> cmd = command(tools, target, spec);
    Files.createDirectories(spec.rawOutput().getParent());
    Files.writeString(spec.rawOutput(), "# " + String.join(" ", cmd) + "\n");
    // Managed, so that Ctrl-C stops the load generator too (its pinning is already in cmd).
    int exit;
    try (ManagedProcess p = ManagedProcess.start("wrk", CpuPinning.Cpus.NONE, cmd, spec.rawOutput(), Map.of())) {
      if (!p.waitFor(Duration.ofSeconds(spec.durationSeconds() + 30L))) {
        throw new IOException("wrk did not finish within " + (spec.durationSeconds() + 30) + " s; output in "
          + spec.rawOutput());
      }
      exit = p.exitCodeOrMinusOne();
    }
    String out = Files.readString(spec.rawOutput());
    if (exit != 0) {
      throw new IOException("wrk exited with code " + exit + "; output in " + spec.rawOutput() + ": "
        + out.strip().lines().reduce((a, b) -> b).orElse(""));
    }
    return WrkReport.parse(out);
  }

  @Override
  public String toString() {
    return "wrk -t1" + (headers.isEmpty() ? "" : " -H '" + String.join("' -H '", headers) + "'");
  }
}
