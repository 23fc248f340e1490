package io.keelson.dataplane.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * A real nginx ({@code nginx} on the PATH) in the foreground, one process, serving the files the test writes under
 * {@link #root()} from a free loopback port, with {@code locations} (server-block directives) added. Closed by
 * stopping the process it started and deleting its directory. Not thread-safe.
 */
public final class NginxProcess implements AutoCloseable {
  private final Path dir;
  private final int port;
  private Process process;

  /** Prepares the directory; files go under {@link #root()} before {@link #start}. */
  public NginxProcess() throws IOException {
    this.dir = Files.createTempDirectory("keelson-nginx");
    Files.createDirectories(dir.resolve("www"));
    Files.createDirectories(dir.resolve("tmp"));
    this.port = LocalPorts.free();
  }

  public Path root() {
    return dir.resolve("www");
  }

  public int port() {
    return port;
  }

  /** Starts nginx with {@code locations} in its one server block and waits until it listens. */
  public NginxProcess start(String locations) throws Exception {
    String d = dir.toString();
    String conf = """
        daemon off;
        master_process off;
        pid %1$s/nginx.pid;
        error_log %1$s/error.log;
        events { worker_connections 64; }
        http {
          include /etc/nginx/mime.types;
          access_log off;
          client_body_temp_path %1$s/tmp; proxy_temp_path %1$s/tmp; fastcgi_temp_path %1$s/tmp;
          uwsgi_temp_path %1$s/tmp; scgi_temp_path %1$s/tmp;
          server {
            listen 127.0.0.1:%2$d;
            root %1$s/www;
        %3$s
          }
        }
        """.formatted(d, port, locations);
    Path file = Files.writeString(dir.resolve("nginx.conf"), conf);
    process = new ProcessBuilder("nginx", "-p", d, "-c", file.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("out.log").toFile()).start();
    Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
      if (!process.isAlive()) {
        throw new AssertionError("nginx exited: " + Files.readString(dir.resolve("out.log"), StandardCharsets.UTF_8));
      }
      return LocalPorts.listening(port);
    });
    return this;
  }

  @Override
  public void close() throws Exception {
    if (process != null) {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
