package io.keelson.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs commands for the network-namespace tests: bounded in time, output captured, failures loud. */
public final class Shell {
  private Shell() {}

  public record Result(int exit, String out) {}

  public static Result run(List<String> command, long timeoutSeconds) {
    try {
      Path out = Files.createTempFile("keelson-sh", ".out");
      try {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new AssertionError("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Runs and requires exit 0; returns the output. */
  public static String ok(String... command) {
    Result r = run(List.of(command), 30);
    if (r.exit() != 0) {
      throw new AssertionError("exit " + r.exit() + " from " + String.join(" ", command) + ":\n" + r.out());
    }
    return r.out();
  }

  /** The command run inside network namespace {@code ns}. */
  public static List<String> in(String ns, String... command) {
    List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    all.addAll(List.of(command));
    return all;
  }

  public static String okIn(String ns, String... command) {
    return ok(in(ns, command).toArray(new String[0]));
  }

  public static boolean onPath(String tool) {
    return run(List.of("sh", "-c", "command -v " + tool), 10).exit() == 0;
  }
}
