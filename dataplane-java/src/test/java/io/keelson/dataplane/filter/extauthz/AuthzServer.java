package io.keelson.dataplane.filter.extauthz;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

/**
 * A real HTTP authorization server on loopback for ext_authz tests (the JDK's HttpServer, one thread per
 * check): a path containing {@code /deny} is denied with 401, a body and headers; {@code /slow} answers 200
 * after fifteen seconds; {@code /broken} answers 503 with a body; anything else is allowed with 200 and headers meant for the upstream. Records every
 * check request it gets.
 */
final class AuthzServer implements AutoCloseable {
  /** One check request as the server received it; header names in lower case, values joined with ','. */
  record Check(String method, String uri, Map<String, String> headers) {}

  final List<Check> checks = new CopyOnWriteArrayList<>();
  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();

  AuthzServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.createContext("/", this::handle);
    server.setExecutor(threads);
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange x) throws IOException {
    Map<String, String> headers = x.getRequestHeaders().entrySet().stream().collect(Collectors.toMap(
        e -> e.getKey().toLowerCase(Locale.ROOT), e -> String.join(",", e.getValue())));
    String uri = x.getRequestURI().toString();
    checks.add(new Check(x.getRequestMethod(), uri, headers));
    x.getRequestBody().readAllBytes();
    if (uri.contains("/slow")) {
      try {
        Thread.sleep(15_000); // the proxy's check timeout is far shorter: this answer comes too late
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    byte[] body;
    if (uri.contains("/broken")) {
      body = "authz backend down".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(503, body.length);
    } else if (uri.contains("/deny")) {
      x.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"authz\"");
      x.getResponseHeaders().add("X-Deny-Reason", "no ticket");
      x.getResponseHeaders().add("X-Internal-Secret", "s3cr3t");
      x.getResponseHeaders().add("Content-Type", "application/json");
      body = "{\"error\":\"denied by authz\"}".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(401, body.length);
    } else {
      x.getResponseHeaders().add("X-User", "alice");
      x.getResponseHeaders().add("X-Tag", "from-authz");
      x.getResponseHeaders().add("X-Not-For-Upstream", "nope");
      body = "ok".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, body.length);
    }
    x.getResponseBody().write(body);
    x.close();
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
