package io.keelson.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A real, short run: wrk against the nginx upstream directly, through nginx and through HAProxy. */
class EndToEndBenchTest {
  private final Tools tools = new Tools(false, new PrintStream(OutputStream.nullOutputStream()));

  @Test
  void measuresDirectNginxAndHaproxyAndWritesEveryResultFile(@TempDir Path dir) throws Exception {
    for (String binary : List.of("nginx", "haproxy", "wrk")) {
      assumeTrue(tools.find(binary) != null, binary + " is not installed (see bin/lib/test-packages.txt)");
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int exit = BenchCommand.run(new String[] {"http1-keepalive", "--peers", "direct,nginx,haproxy", "--runs", "1",
      "--duration", "1", "--warmup", "0", "--connections", "8", "--no-install", "--strict", "--out",
      dir.toString()}, new PrintStream(OutputStream.nullOutputStream()), new PrintStream(err, true));

    String log = err.toString();
    assertThat(exit).as(log).isEqualTo(BenchCommand.OK);
    assertThat(log).contains("http1-keepalive · nginx · run 1 of 1");
    for (String f : List.of("results.json", "summary.md", "requests-per-second.png", "p99-latency.png",
      "latency-http1-keepalive.png", "http1-keepalive/nginx/nginx.conf", "http1-keepalive/haproxy/haproxy.cfg",
      "upstream/nginx.conf", "http1-keepalive/runs/haproxy-run1.txt")) {
      assertThat(dir.resolve(f)).as(f).isNotEmptyFile();
    }
    JsonNode runs = ResultsJson.MAPPER.readTree(dir.resolve("results.json").toFile()).path("runs");
    assertThat(runs).hasSize(3);
    for (JsonNode r : runs) {
      assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("ok");
      assertThat(r.path("ratePerSecond").asDouble()).as(r.path("peer").asText()).isGreaterThan(0);
      double p99 = r.path("latencyUs").path("p99").asDouble();
      assertThat(p99).isGreaterThan(0);
      assertThat(r.path("latencyUs").path("p100").asDouble()).as("max").isGreaterThanOrEqualTo(p99);
      if (!r.path("peer").asText().equals("direct")) {
        assertThat(r.path("rssPeakKb").asLong()).as("RSS of " + r.path("peer")).isGreaterThan(0);
      }
    }
    assertThat(Files.readString(dir.resolve("summary.md"))).contains("| nginx |", "| haproxy |", "| direct |");
    JsonNode nginx = ResultsJson.MAPPER.readTree(dir.resolve("results.json").toFile()).path("summaries").get(0)
        .path("peers").get(1);
    assertThat(nginx.path("peer").asText()).isEqualTo("nginx");
    assertThat(nginx.path("readySeconds").asDouble()).isBetween(0.0, 15.0);
    assertThat(nginx.path("idleRssMb").asDouble()).isGreaterThan(0.5);
  }

  @Test
  void aPeerThatCannotStartIsReportedAndFailsOnlyUnderStrict(@TempDir Path dir) throws Exception {
    for (String binary : List.of("nginx", "wrk")) {
      assumeTrue(tools.find(binary) != null, binary + " is not installed (see bin/lib/test-packages.txt)");
    }
    // keelson cannot start: keelson.home points at a directory without bin/keelson.
    String home = System.getProperty("keelson.home");
    System.setProperty("keelson.home", dir.resolve("no-keelson-here").toString());
    try {
      String[] args = {"http1-keepalive", "--peers", "direct,keelson", "--runs", "1", "--duration", "1", "--warmup",
        "0", "--connections", "4", "--no-install", "--out", dir.resolve("out").toString()};
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());

      assertThat(BenchCommand.run(args, quiet, quiet)).isEqualTo(BenchCommand.OK);
      String summary = Files.readString(dir.resolve("out/summary.md"));
      assertThat(summary).contains("| keelson | failed |", "- keelson failed: cannot find bin/keelson");

      String[] strict = java.util.stream.Stream.concat(java.util.Arrays.stream(args),
        java.util.stream.Stream.of("--strict")).toArray(String[]::new);
      assertThat(BenchCommand.run(strict, quiet, quiet)).isEqualTo(BenchCommand.FAILED);
    } finally {
      if (home == null) {
        System.clearProperty("keelson.home");
      } else {
        System.setProperty("keelson.home", home);
      }
    }
  }
}
