package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.cli.CliRun.Result;
import io.keelson.control.xds.Mesh;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keelson control} as a real process, driven by the CLI commands (apply, get, explain, status,
 * delete); its data dir survives a restart.
 */
class ControlProcessTest {
  @TempDir
  Path dir;



  private Process start(Path log) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    return new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
        System.getProperty("java.class.path"), KeelsonMain.class.getName(), "control", "--xds-port", "0", "--xds-tls-port", "0",
        "--api-port", "0", "--config-dir", dir.resolve("config").toString(), "--data-dir", dir.resolve("data").toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static String awaitApi(Process p, Path log) {
    Pattern api = Pattern.compile("HTTP API on (http://[0-9.]+:\\d+)");
    return await().atMost(Duration.ofSeconds(30)).until(() -> {
      assertThat(p.isAlive()).as("control plane running").isTrue();
      Matcher m = api.matcher(Files.readString(log));
      return m.find() ? m.group(1) : null;
    }, s -> s != null);
  }

  @Test
  void theCliDrivesARunningControlPlaneWhoseStateSurvivesARestart() throws Exception {
    Files.createDirectories(dir.resolve("config"));
    Files.writeString(dir.resolve("config/registry.yaml"), Mesh.registry(8081, 8082));
    Path canary = Files.createDirectories(dir.resolve("canary"));
    Files.writeString(canary.resolve("destination-rule.yaml"), Mesh.resource("/canary/destination-rule.yaml"));
    Files.writeString(canary.resolve("virtual-service.yaml"), Mesh.resource("/canary/virtual-service.yaml"));
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, Mesh.resource("/canary/virtual-service.yaml").replace("subset: v2", "subset: v9"));

    Process control = start(dir.resolve("control.log"));
    try {
      String server = awaitApi(control, dir.resolve("control.log"));
      Result dry = cli("apply", "-f", canary.toString(), "--dry-run", "--server", server);
      assertThat(dry.code()).as(dry.err()).isZero();
      assertThat(dry.out()).contains("VirtualService/product-service created (dry run)",
          "DestinationRule/product-service created (dry run)");
      assertThat(cli("get", "vs", "--server", server).out()).doesNotContain("VirtualService");

      Result applied = cli("apply", "-f", canary.toString(), "--server", server);
      assertThat(applied.out()).contains("VirtualService/product-service created");

      Result rejected = cli("apply", "-f", bad.toString(), "--server", server);
      assertThat(rejected.code()).isEqualTo(1);
      assertThat(rejected.err()).isEqualTo("error: " + bad + ": VirtualService/product-service: "
          + "spec.http[0].route[1].destination.subset: no DestinationRule defines subset 'v9' of service "
          + "'product-service'; apply the DestinationRule with the subsets first, or in the same set\n");

      assertThat(cli("get", "virtualservice", "product-service", "--server", server).out()).contains("weight: 90");
      Result explain = cli("explain", "--from", "frontend", "--to", "product-service", "--path", "/items",
          "--header", "x-user=alice", "--server", server);
      assertThat(explain.out()).contains("route 'VirtualService/product-service/product-service-0' matches",
          "90.0% -> cluster product-service|v1 (ROUND_ROBIN) endpoints [\"127.0.0.1:8081\"]",
          "10.0% -> cluster product-service|v2 (ROUND_ROBIN) endpoints [\"127.0.0.1:8082\"]");
      assertThat(cli("status", "--server", server).out()).startsWith("PROXY").doesNotContain("store error");
      // A file the config dir cannot take is reported by status until it is fixed.
      Path broken = Files.writeString(dir.resolve("config/broken.yaml"), "apiVersion: v1\nkind: Nonsense\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> cli("status", "--server", server).out()
          .contains("store error: --config-dir: " + broken));
      Files.delete(broken);
      await().atMost(Duration.ofSeconds(10)).until(() -> !cli("status", "--server", server).out().contains("store error"));
      Result proxyConfig = cli("proxy-config", "nobody", "routes", "--server", server);
      assertThat(proxyConfig.code()).isEqualTo(1);
      assertThat(proxyConfig.err()).contains("no proxy 'nobody' is connected");
      assertThat(cli("delete", "vs", "product-service", "--server", server).out())
          .contains("VirtualService/product-service deleted");

      java.io.InputStream stdin = System.in;
      try {
        System.setIn(new java.io.ByteArrayInputStream(Mesh.split(50, 50).getBytes(StandardCharsets.UTF_8)));
        Result piped = cli("apply", "-f", "-", "--server", server);
        assertThat(piped.out()).contains("VirtualService/product-service created", "updated [\"routes\"]");
      } finally {
        System.setIn(stdin);
      }
      assertThat(cli("get", "vs", "product-service", "--server", server).out()).contains("# from -", "weight: 50");
    } finally {
      control.destroy();
      assertThat(control.waitFor(20, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
    }
    assertThat(control.exitValue()).isZero();

    Process again = start(dir.resolve("control2.log"));
    try {
      String server = awaitApi(again, dir.resolve("control2.log"));
      assertThat(cli("get", "dr", "product-service", "--server", server).out()).contains("name: v2");
      assertThat(cli("get", "vs", "--server", server).out()).contains("# from -", "weight: 50");
      assertThat(cli("get", "workload", "product-v1", "--server", server).out()).contains("port: 8081");
    } finally {
      again.destroy();
      again.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void aProtocolDetectionTimeoutThatIsNoDurationIsRefusedWithTheFlag() throws Exception {
    Result bad = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1",
        "--protocol-detection-timeout", "soon");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("--protocol-detection-timeout 'soon': expected 0s (no timeout, the default) or a"
        + " duration such as 100ms or 5s");
    assertThat(ControlCommand.detectionTimeout("100ms")).isEqualTo(java.time.Duration.ofMillis(100));
    assertThat(ControlCommand.detectionTimeout("0s")).isEqualTo(java.time.Duration.ZERO);
    assertThat(ControlCommand.detectionTimeout("5")).isNull();
    java.nio.file.Path mesh = java.nio.file.Files.createTempFile("mesh", ".yaml");
    try {
      java.nio.file.Files.writeString(mesh, "protocolDetectionTimeout: later\n");
      Result file = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1", "--mesh-config",
          mesh.toString());
      assertThat(file.code()).isEqualTo(2);
      assertThat(file.err()).contains(mesh + ": protocolDetectionTimeout: 'later' is not a duration");
    } finally {
      java.nio.file.Files.deleteIfExists(mesh);
    }
  }

  @Test
  void localityLbIsOnByDefaultTurnedOffByTheFlagAndABadValueIsRefused() throws Exception {
    Result bad = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1", "--locality-lb", "maybe");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("--locality-lb 'maybe': expected true or false");
    var options = new io.keelson.control.api.ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001);
    try (var on = io.keelson.control.api.ControlPlane.start(options);
        var off = io.keelson.control.api.ControlPlane.start(options.withLocalityLb(false))) {
      assertThat(on.xds.localityLb()).isTrue();
      assertThat(off.xds.localityLb()).isFalse();
    }
  }

  @Test
  void everyCommandHasHelp() {
    for (String cmd : new String[] {"control", "apply", "get", "delete", "status", "proxy-config", "explain"}) {
      Result r = cli(cmd, "--help");
      assertThat(r.code()).as(cmd).isZero();
      assertThat(r.out()).as(cmd).startsWith("usage: bin/keelson " + cmd);
    }
  }
}
