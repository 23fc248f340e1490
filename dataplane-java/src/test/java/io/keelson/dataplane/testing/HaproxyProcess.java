package io.keelson.dataplane.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * A real HAProxy ({@code haproxy} on the PATH) run in the foreground from a config the test writes, for PROXY protocol
 * tests: a client-side L4 balancer ({@code send-proxy}, {@code send-proxy-v2}) or a backend ({@code accept-proxy}).
 * Its listening port is picked free just before it starts (ephemeral, so tests never collide). Closed by killing the
 * process it started. Not thread-safe.
 */
public final class HaproxyProcess implements AutoCloseable {
  private final Process process;
  private final Path dir;
  private final int port;

  /**
   * Starts HAProxy with {@code sections} (frontends, backends, listens) after a default global/defaults block; each
   * {@code %PORT%} in them is replaced by the free port chosen for it, on which it is then waited for.
   */
  public HaproxyProcess(String sections) throws Exception {
    this.port = LocalPorts.free();
    this.dir = Files.createTempDirectory("keelson-haproxy");
    String cfg = """
        global
          log stdout format raw local0
        defaults
          mode tcp
          log global
          option tcplog
          timeout connect 5s
          timeout client 30s
          timeout server 30s
        """ + sections.replace("%PORT%", Integer.toString(port));
    Path file = Files.writeString(dir.resolve("haproxy.cfg"), cfg);
    this.process = new ProcessBuilder("haproxy", "-db", "-f", file.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("haproxy.log").toFile()).start();
    Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
      if (!process.isAlive()) {
        throw new AssertionError("haproxy exited: " + log());
      }
      return LocalPorts.listening(port);
    });
  }

  /** Whether {@code haproxy} can run here (tests are skipped with the reason otherwise). */
  public static boolean available() {
    try {
      Process p = new ProcessBuilder("haproxy", "-v").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The port chosen for {@code %PORT%}. */
  public int port() {
    return port;
  }

  /** What HAProxy wrote (its log lines, errors). */
  public String log() throws IOException {
    return Files.readString(dir.resolve("haproxy.log"), StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws Exception {
    if (!Files.exists(dir)) {
      return; // closed already
    }
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(dir);
  }
}
