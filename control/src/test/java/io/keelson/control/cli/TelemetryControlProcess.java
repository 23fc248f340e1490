package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/keelson control} as its own process with the mesh's access logs (JSON, to one file) and tracing (every
 * request, to an OTLP collector) or the flags a test gives, as the telemetry end-to-end tests run it; started once its HTTP API and secure xDS
 * port are announced in its log. The caller stops {@link #process}.
 */
record TelemetryControlProcess(Process process, String server, int securePort) {
  private static final Pattern STARTED =
      Pattern.compile("HTTP API on (http://[0-9.]+:\\d+), secure xDS \\+ certificates on [0-9.]+:(\\d+)");

  static TelemetryControlProcess start(Path dir, Path accessLog, Path controlLog, int collectorPort) throws Exception {
    return start(dir, controlLog, "--access-log-file", accessLog.toString(), "--access-log-encoding", "JSON",
        "--tracing-otlp", "127.0.0.1:" + collectorPort, "--tracing-sampling", "100");
  }

  /** With these telemetry flags instead of the access log and OTLP collector. */
  static TelemetryControlProcess start(Path dir, Path controlLog, String... telemetryFlags) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName(),
        "control", "--xds-port", "0", "--xds-tls-port", "0", "--api-port", "0", "--data-dir",
        dir.resolve("data").toString()));
    cmd.addAll(List.of(telemetryFlags));
    Process control = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(controlLog.toFile()).start();
    try {
      Matcher started = await().atMost(Duration.ofSeconds(60)).until(() -> {
        assertThat(control.isAlive()).as("control plane running: " + Files.readString(controlLog)).isTrue();
        Matcher m = STARTED.matcher(Files.readString(controlLog));
        return m.find() ? m : null;
      }, m -> m != null);
      return new TelemetryControlProcess(control, started.group(1), Integer.parseInt(started.group(2)));
    } catch (RuntimeException | Error e) {
      control.destroyForcibly();
      throw e;
    }
  }

  /** Stops the control plane (forcibly after 10 s). */
  void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
