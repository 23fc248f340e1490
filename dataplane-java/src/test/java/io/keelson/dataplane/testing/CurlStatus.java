package io.keelson.dataplane.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs real curl with {@code args} (a 10 s budget) and returns the status code it got ("000" for none). */
public final class CurlStatus {
  private CurlStatus() {}

  public static String of(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("-o", "/dev/null", "-w", "%{http_code}"));
    cmd.addAll(List.of(args));
    return output(cmd.toArray(new String[0]));
  }

  /** Runs {@code curl -sS -m 10 args...} and returns what it wrote (stdout and stderr), stripped. */
  public static String output(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-m", "10"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return out.strip();
  }
}
