package io.keelson.control.store.etcd;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real single-member etcd for tests, on free loopback ports with a temporary data directory. {@link #stop}
 * kills it; {@link #start} runs it again on the same ports and data. {@link #close} kills it and deletes the
 * directory. Not thread-safe (the test's thread).
 */
public final class EtcdProcess implements AutoCloseable {
  private final Path dir;
  private final int clientPort;
  private final int peerPort;
  private final Tls tls;
  private Process process;

  /**
   * etcd serving https with {@code cert}/{@code key}, requiring client certificates signed by {@code ca};
   * {@code client} is the context the readiness check (and the test) calls it with.
   */
  public record Tls(Path cert, Path key, Path ca, javax.net.ssl.SSLContext client, List<String> moreArgs) {}

  /** The etcd binary on this machine, or null (tests skip). */
  public static Path binary() {
    for (String d : (System.getenv("PATH") + ":/usr/bin:/usr/local/bin").split(":")) {
      Path p = Path.of(d.isEmpty() ? "." : d, "etcd");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  public EtcdProcess() throws IOException, InterruptedException {
    this(null);
  }

  /** @param tls null: plain http */
  public EtcdProcess(Tls tls) throws IOException, InterruptedException {
    this.tls = tls;
    dir = Files.createTempDirectory("keelson-etcd-test");
    clientPort = freePort();
    peerPort = freePort();
    try {
      start();
    } catch (IOException | InterruptedException | RuntimeException e) {
      close();
      throw e;
    }
  }

  public URI endpoint() {
    // The test CA issues DNS names only: https endpoints are named localhost (etcd listens on 127.0.0.1).
    return URI.create(tls == null ? "http://127.0.0.1:" + clientPort : "https://localhost:" + clientPort);
  }

  /** Starts etcd (again) and waits until it answers. */
  public void start() throws IOException, InterruptedException {
    String peer = "http://127.0.0.1:" + peerPort;
    List<String> cmd = new java.util.ArrayList<>(List.of(binary().toString(), "--name", "test", "--data-dir",
        dir.resolve("data").toString(), "--listen-client-urls", endpoint().toString().replace("localhost", "127.0.0.1"),
        "--advertise-client-urls", endpoint().toString(),
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "test=" + peer,
        "--log-outputs", "stderr", "--logger", "zap"));
    if (tls != null) {
      cmd.addAll(List.of("--cert-file", tls.cert().toString(), "--key-file", tls.key().toString(),
          "--trusted-ca-file", tls.ca().toString(), "--client-cert-auth"));
      cmd.addAll(tls.moreArgs());
    }
    process = new ProcessBuilder(cmd)
        .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile()).start();
    Process started = process;
    // Should the test JVM die before close(), etcd goes with it.
    Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
    HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1));
    if (tls != null) {
      builder.sslContext(tls.client());
    }
    HttpClient http = builder.build();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("etcd exited with " + process.exitValue() + ": " + Files.readString(dir.resolve("etcd.log")));
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(endpoint().resolve("/v3/kv/range"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"AA==\"}")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 || r.statusCode() == 403 || r.body().contains("user name is empty")) {
          return; // up (the second: up with auth enabled)
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(50);
    }
    throw new IOException("etcd did not answer on " + endpoint() + " within 20s");
  }

  /** Kills etcd (SIGKILL) and waits for it to go. */
  public void stop() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor();
      process = null;
    }
  }

  @Override
  public void close() throws InterruptedException, IOException {
    stop();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  public List<URI> endpoints() {
    return List.of(endpoint());
  }
}
