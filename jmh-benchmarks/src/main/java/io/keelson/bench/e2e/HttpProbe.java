package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Waits until a started peer answers HTTP 200, or explains why it never did. Thread-safe. */
final class HttpProbe {
  private static final HttpClient CLIENT = HttpClient.newBuilder()
    .version(HttpClient.Version.HTTP_1_1)
    .sslContext(trustAll()) // the TLS scenarios' peers use a throw-away self-signed certificate
    .connectTimeout(Duration.ofSeconds(1))
    .build();

  private HttpProbe() {
  }

  private static javax.net.ssl.SSLContext trustAll() {
    try {
      javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLS");
      c.init(null, io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
      return c;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Status of one GET, or -1 when it could not connect or timed out. */
  static int status(URI uri) {
    try {
      HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET().build();
      return CLIENT.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * Polls {@code uri} until it answers 200. Throws with the process's exit code and the tail of
   * its log when the process dies first or the deadline passes.
   */
  static void awaitOk(URI uri, ManagedProcess process, Duration timeout) throws PeerStartException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int last = -1;
    while (System.nanoTime() < deadline) {
      if (process != null && !process.isAlive()) {
        throw new PeerStartException(process.name() + " exited with code " + process.exitCodeOrMinusOne()
          + " before " + uri + " answered; " + logTail(process.log()));
      }
      last = status(uri);
      if (last == 200) {
        return;
      }
      try {
        Thread.sleep(50); // polling a child process; nothing to be notified by
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PeerStartException("interrupted while waiting for " + uri);
      }
    }
    throw new PeerStartException((process == null ? "" : process.name() + ": ") + uri + " did not answer 200 within "
      + timeout.toSeconds() + " s (last: " + (last < 0 ? "no connection" : "HTTP " + last) + ")"
      + (process == null ? "" : "; " + logTail(process.log())));
  }

  /** The last lines of a log, for error messages a person can act on. */
  static String logTail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      List<String> tail = lines.subList(Math.max(0, lines.size() - 5), lines.size());
      return tail.isEmpty() ? "its log " + log + " is empty" : "log " + log + " ends with: " + String.join(" | ", tail);
    } catch (IOException e) {
      return "no log at " + log;
    }
  }
}
