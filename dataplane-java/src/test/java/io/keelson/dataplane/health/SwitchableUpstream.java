package io.keelson.dataplane.health;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A tiny HTTP upstream whose health answer can be switched and which can be stopped and started
 * again on the same port: {@code /healthz} answers {@link #healthStatus}; anything else answers 200
 * with the upstream's name. Thread-safe.
 */
final class SwitchableUpstream implements AutoCloseable {
  final String name;
  final int port;
  volatile int healthStatus = 200;
  /** Requests other than health checks (/healthz) served. */
  final java.util.concurrent.atomic.AtomicInteger workRequests = new java.util.concurrent.atomic.AtomicInteger();
  private HttpServer server;

  SwitchableUpstream(String name) throws IOException {
    this.name = name;
    server = start(0);
    port = server.getAddress().getPort();
  }

  private HttpServer start(int p) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", p), 64);
    s.createContext("/", exchange -> {
      boolean check = exchange.getRequestURI().getPath().equals("/healthz");
      if (!check) {
        workRequests.incrementAndGet();
      }
      int status = check ? healthStatus : 200;
      byte[] body = name.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    s.start();
    return s;
  }

  synchronized void kill() {
    if (server != null) {
      server.stop(0);
      server = null;
    }
  }

  synchronized void restart() throws IOException {
    if (server == null) {
      server = start(port);
    }
  }

  @Override
  public void close() {
    kill();
  }
}
