package io.keelson.dataplane.gateway;

import static org.awaitility.Awaitility.await;

import io.keelson.testkit.Shell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code keelson gateway} as a real child process inside the topology's gateway namespace. */
final class GatewayProcess implements AutoCloseable {
  private static final Pattern ADMIN = Pattern.compile("admin=http://127\\.0\\.0\\.1:(\\d+)");

  private final NetnsTopology topo;
  private final Process process;
  final Path out;
  final int adminPort;

  GatewayProcess(NetnsTopology topo, String config, String pipeline) throws IOException {
    this(topo, config, pipeline, List.of());
  }

  /** @param extraArgs more gateway options (e.g. {@code --port-ip6}) */
  GatewayProcess(NetnsTopology topo, String config, String pipeline, List<String> extraArgs) throws IOException {
    this.topo = topo;
    out = topo.dir.resolve("gateway-" + pipeline + ".out");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path home = io.keelson.dataplane.hw.HardwareProfiles.directory().getParent();
    List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
        "-XX:+UseSerialGC", "-Dkeelson.native.dir=" + System.getProperty("keelson.native.dir"),
        "-Dkeelson.home=" + home, "-cp", System.getProperty("java.class.path")));
    cmd.addAll(GatewayCommand.jvmFlags(home)); // as bin/keelson gateway runs it
    cmd.addAll(List.of(GatewayCommand.class.getName(),
        "--hw-profile", "af-packet-pair", "--config", config,
        "--var", "outside=go", "--var", "inside=gi", "--var", "tap=" + topo.tap,
        "--port-ip", "outside=" + NetnsTopology.GATEWAY_OUTSIDE + "/24",
        "--port-ip", "inside=" + NetnsTopology.GATEWAY_INSIDE + "/24",
        "--snat", NetnsTopology.SNAT, "--admin", "127.0.0.1:0", "--no-pin", "--pipeline", pipeline,
        "--stats-interval", "5", "--eal", "--file-prefix", "--eal", "keelson-it-" + topo.suffix + "-" + pipeline));
    cmd.addAll(extraArgs);
    process = topo.startIn(topo.gateway, out, cmd.toArray(new String[0]));
    await("gateway ready (output in " + out + ")").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200))
        .until(() -> {
          if (!process.isAlive()) {
            throw new AssertionError("gateway exited with " + process.exitValue() + ":\n" + Files.readString(out));
          }
          return ADMIN.matcher(Files.readString(out)).find();
        });
    Matcher m = ADMIN.matcher(Files.readString(out));
    m.find();
    adminPort = Integer.parseInt(m.group(1));
  }

  /** One Prometheus sample (e.g. {@code keelson_gateway_drops_total{reason="fragment"}}), read from the admin endpoint. */
  long metric(String sample) {
    String text = Shell.okIn(topo.gateway, "curl", "-s", "--max-time", "5",
        "http://127.0.0.1:" + adminPort + "/stats/prometheus");
    for (String line : text.split("\n")) {
      if (line.startsWith(sample + " ")) {
        return Long.parseLong(line.substring(sample.length() + 1).trim());
      }
    }
    throw new AssertionError("no sample " + sample + " in:\n" + text);
  }

  long drops(String reason) {
    return metric("keelson_gateway_drops_total{reason=\"" + reason + "\"}");
  }

  String output() throws IOException {
    return Files.readString(out);
  }

  boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // The EAL's runtime directory for this file prefix.
    Path runtime = Path.of("/var/run/dpdk", "keelson-it-" + topo.suffix);
    try (var dirs = Files.list(Path.of("/var/run/dpdk"))) {
      for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith(runtime.getFileName().toString())).toList()) {
        try (var files = Files.walk(d)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
      }
    } catch (IOException ignored) {
      // Nothing to clean.
    }
  }
}
