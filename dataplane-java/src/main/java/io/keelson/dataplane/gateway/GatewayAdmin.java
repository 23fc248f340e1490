package io.keelson.dataplane.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * A minimal admin endpoint for the gateway process ({@code /ready}, {@code /stats},
 * {@code /stats/prometheus}) until the data plane's shared admin server serves these counters.
 *
 * <p>Threading: requests run on one admin thread; the suppliers read counters from any thread.
 */
final class GatewayAdmin implements AutoCloseable {
  private final HttpServer server;

  GatewayAdmin(String host, int port, Supplier<String> prometheus, Supplier<String> summary) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 16);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "keelson-gateway-admin");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/ready", ex -> reply(ex, () -> "LIVE\n"));
    server.createContext("/stats/prometheus", ex -> reply(ex, prometheus));
    server.createContext("/stats", ex -> reply(ex, () -> summary.get() + "\n"));
    server.start();
  }

  /** The bound port (useful when 0 was asked for). */
  int port() {
    return server.getAddress().getPort();
  }

  private static void reply(HttpExchange ex, Supplier<String> body) throws IOException {
    byte[] bytes;
    int status = 200;
    try {
      bytes = body.get().getBytes(StandardCharsets.UTF_8);
    } catch (RuntimeException e) {
      bytes = ("error: " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8);
      status = 500;
    }
    ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
