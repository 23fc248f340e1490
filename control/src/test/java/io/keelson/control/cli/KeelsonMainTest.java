package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line's answers to good and bad invocations, without starting long-lived servers. */
class KeelsonMainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... argv) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      return KeelsonMain.run(argv);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void helpListsEverySubCommand() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("proxy", "demo", "gateway", "bench");
  }

  @Test
  void eachSubCommandHasItsOwnHelp() {
    assertThat(run("proxy", "--help")).isZero();
    assertThat(out.toString()).contains("--config FILE", "--concurrency N", "--admin HOST:PORT");
    out.reset();
    assertThat(run("demo", "--help")).isZero();
    assertThat(out.toString()).contains("--duration SECONDS");
  }

  @Test
  void unknownCommandIsAUsageError() {
    assertThat(run("frobnicate")).isEqualTo(2);
    assertThat(err.toString()).contains("unknown command 'frobnicate'");
  }

  @Test
  void proxyWithoutConfigSaysWhatIsMissing() {
    assertThat(run("proxy")).isEqualTo(2);
    assertThat(err.toString()).contains("--config FILE is required");
  }

  @Test
  void proxyRejectsAnUnknownOptionByName() {
    assertThat(run("proxy", "--config", "x.yaml", "--threads", "4")).isEqualTo(2);
    assertThat(err.toString()).contains("unknown option '--threads'").contains("--concurrency");
  }

  @Test
  void proxyReportsAMissingConfigFile(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");
    assertThat(run("proxy", "--config", missing.toString())).isEqualTo(1);
    assertThat(err.toString()).contains(missing.toString());
  }

  @Test
  void proxyReportsABadConfigWithTheFieldPath(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(config, """
        static_resources:
          clusters:
          - name: a
            connect_timeout: 1s
            lb_policy: CLUSTER_PROVIDED
        """);
    assertThat(run("proxy", "--config", config.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("bad.yaml").contains("static_resources.clusters[0].lb_policy");
  }
}
