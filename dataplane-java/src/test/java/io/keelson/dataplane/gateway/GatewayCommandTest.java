package io.keelson.dataplane.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The command line's answers that need no DPDK: help, usage errors, exit codes. */
class GatewayCommandTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return GatewayCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void helpPrintsUsageAndExitsZero() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("--hw-profile", "--config", "--pipeline inline|disruptor",
        "--port-ip", "--admin");
  }

  @Test
  void missingProfileIsAUsageErrorListingTheKnownProfiles() {
    assertThat(run("--config", "/nonexistent.yaml")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--hw-profile is required", "af-packet", "null");
  }

  @Test
  void unknownOptionAndBadPipelineAreUsageErrors() {
    assertThat(run("--turbo")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown option '--turbo'");
    err.reset();
    assertThat(run("--pipeline", "warp")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("'warp' is not one of: inline, disruptor");
  }

  @Test
  void missingConfigFileIsNamed() {
    assertThat(run("--hw-profile", "null", "--config", "/nonexistent/bootstrap.yaml")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--config /nonexistent/bootstrap.yaml: no such file");
  }

  @Test
  void malformedSynRateIsAUsageErrorSayingTheExpectedForm() {
    assertThat(run("--syn-rate", "fast")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--syn-rate fast: expected PER_SECOND[/BURST]");
    err.reset();
    assertThat(run("--syn-rate", "1000/0")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--syn-rate 1000/0");
  }
}
