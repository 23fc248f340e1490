package io.keelson.bench.e2e;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

class BenchCommandTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) throws Exception {
    return BenchCommand.run(args, new PrintStream(out, true), new PrintStream(err, true));
  }

  @Test
  void helpPrintsUsageAndSucceeds() throws Exception {
    assertThat(run("--help")).isEqualTo(BenchCommand.OK);
    assertThat(out.toString()).startsWith("Usage: bin/keelson bench");
  }

  @Test
  void aBadOptionIsAUsageErrorThatNamesIt() throws Exception {
    assertThat(run("--runs", "zero")).isEqualTo(BenchCommand.USAGE);
    assertThat(err.toString()).contains("--runs expects a whole number, got 'zero'");
  }

  @Test
  void aJmhPatternThatMatchesNothingFailsAndSaysSo(@TempDir Path dir) throws Exception {
    assertThat(run("--jmh", "NoSuchBenchmarkAnywhere", "--out", dir.toString())).isEqualTo(BenchCommand.FAILED);
    assertThat(err.toString()).contains("no JMH benchmark matches 'NoSuchBenchmarkAnywhere'");
    assertThat(Files.exists(dir.resolve("jmh-results.json"))).isFalse();
  }
}
