package io.keelson.dataplane.intercept;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * envoy.filters.listener.http_inspector through a running proxy: one listener with Istio's two chains for a port with
 * no declared protocol (an HTTP connection manager for http/1.0, http/1.1 and h2c; a tcp_proxy for the rest), real
 * clients (curl, raw sockets) and real backends.
 */
class HttpInspectorProxyTest {
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** The "auto" listener: HTTP chain to cluster web (its route adds x-chain: http), TCP chain to cluster raw. */
  private ProxyServer start(int web, int raw, String timeout, boolean continueOnTimeout) throws Exception {
    String filters = """
            - name: envoy.filters.listener.http_inspector
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector
            listener_filters_timeout: %s
            continue_on_listener_filters_timeout: %s
        """.formatted(timeout, continueOnTimeout);
    String chains = """
            - name: http
              filter_chain_match: { application_protocols: [http/1.0, http/1.1, h2c] }
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: auto_http
                  route_config:
                    name: local
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: web }
                        response_headers_to_add:
                        - header: { key: x-chain, value: http }
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
            - name: tcp
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: auto_tcp
                  cluster: raw
        """;
    return proxies.start(ProxyHarness.listener("auto", filters, chains,
        cluster("web", "ROUND_ROBIN", web) + cluster("raw", "ROUND_ROBIN", raw)), 2);
  }

  private static List<String> curl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("curl", "-sS", "-D", "-", "-o", "/dev/null", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out.lines().map(String::toLowerCase).toList();
  }

  @Test
  void routesHttp11AndH2cPriorKnowledgeThroughTheConnectionManager() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend(null));
    ProxyServer p = start(web.port(), raw.port(), "15s", false);
    String url = "http://127.0.0.1:" + p.listenerAddress("auto").getPort() + "/hello";

    List<String> h1 = curl("--http1.1", url);
    assertThat(h1.getFirst()).startsWith("http/1.1 200");
    assertThat(h1).contains("x-chain: http", "x-upstream: web");
    List<String> h10 = curl("--http1.0", url);
    assertThat(h10.getFirst()).startsWith("http/1.").contains(" 200");
    assertThat(h10).contains("x-chain: http");
    List<String> h2 = curl("--http2-prior-knowledge", url);
    assertThat(h2.getFirst()).startsWith("http/2 200");
    assertThat(h2).contains("x-chain: http", "x-upstream: web");

    assertThat(raw.connections.get()).isZero();
    String stats = RunningProxies.admin(p, "/stats");
    assertThat(stats).contains("http_inspector.http11_found: 1", "http_inspector.http10_found: 1",
        "http_inspector.http2_found: 1");
  }

  @Test
  void aRequestLineSplitOverSeveralWritesWaitsForTheLineThenRoutes() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend(null));
    ProxyServer p = start(web.port(), raw.port(), "15s", false);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      s.setSoTimeout(10_000);
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      for (String part : List.of("GE", "T /sp", "lit HTTP/1.1\r", "\nhost: a\r\nconnection: close\r\n\r\n")) {
        out.write(part.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread.sleep(50); // separate segments, so the inspector sees a partial line each time
      }
      String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).toLowerCase();
      assertThat(reply).startsWith("http/1.1 200").contains("x-chain: http");
    }
    assertThat(web.requestLines).contains("GET /split HTTP/1.1");
    assertThat(raw.connections.get()).isZero();
  }

  @Test
  void relaysBinaryBytesThroughTheTcpChainIntact() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend(null));
    ProxyServer p = start(web.port(), raw.port(), "15s", false);
    byte[] sent = new byte[70_000]; // more than the inspector's 8 KiB bound, every byte value
    for (int i = 0; i < sent.length; i++) {
      sent[i] = (byte) (i * 31 + 7);
    }
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      s.setSoTimeout(10_000);
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          s.getOutputStream().write(sent);
          s.shutdownOutput();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      byte[] got = s.getInputStream().readAllBytes();
      writer.join();
      assertThat(got).isEqualTo(sent);
    }
    assertThat(raw.connections.get()).isEqualTo(1);
    assertThat(web.requests.get()).isZero();
    assertThat(RunningProxies.admin(p, "/stats")).contains("http_inspector.http_not_found: 1");
  }

  @Test
  void aClientThatHalfClosesBeforeItsBytesDecideGetsTheTcpChainWithThoseBytes() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend(null));
    ProxyServer p = start(web.port(), raw.port(), "15s", false);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GE".getBytes(StandardCharsets.US_ASCII)); // could still be HTTP
      s.shutdownOutput(); // the FIN decides: none, long before the 15 s timeout
      assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("GE");
    }
    assertThat(raw.connections.get()).isEqualTo(1);
    assertThat(web.requests.get()).isZero();
  }

  @Test
  void aServerFirstProtocolGetsTheTcpChainAtTheListenerFilterTimeout() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend("220 ready\r\n".getBytes(StandardCharsets.US_ASCII)));
    ProxyServer p = start(web.port(), raw.port(), "0.2s", true);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      long t0 = System.nanoTime();
      assertThat(new String(in.readNBytes(11), StandardCharsets.US_ASCII)).isEqualTo("220 ready\r\n"); // we sent nothing
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
      s.getOutputStream().write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(in.readNBytes(6), StandardCharsets.US_ASCII)).isEqualTo("QUIT\r\n");
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/stats")).contains("listener.auto.downstream_pre_cx_timeout: 1"));
  }

  @Test
  void closesAtTheTimeoutWithoutContinueOnListenerFiltersTimeout() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend("220 ready\r\n".getBytes(StandardCharsets.US_ASCII)));
    ProxyServer p = start(web.port(), raw.port(), "0.2s", false);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(raw.connections.get()).isZero();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(RunningProxies.admin(p, "/stats")).contains("listener.auto.downstream_pre_cx_timeout: 1"));
  }

  @Test
  void withoutATimeoutASilentClientWaitsForItsBytesAndIsNeverRelayedAsTcp() throws Exception {
    // listener_filters_timeout 0s (Istio's protocolDetectionTimeout default): a client that pauses before its request
    // still gets the HTTP chain, however long it pauses; a server-first protocol must be declared.
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend("220 ready\r\n".getBytes(StandardCharsets.US_ASCII)));
    ProxyServer p = start(web.port(), raw.port(), "0s", true);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      s.setSoTimeout(1_500); // longer than the old 1 s detection timeout
      assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(java.net.SocketTimeoutException.class);
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /late HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).toLowerCase();
      assertThat(reply).startsWith("http/1.1 200").contains("x-chain: http");
    }
    assertThat(raw.connections.get()).isZero();
    assertThat(RunningProxies.admin(p, "/stats")).contains("listener.auto.downstream_pre_cx_timeout: 0");
  }

  @Test
  void drainListenersClosesAConnectionStillBeingInspected() throws Exception {
    TestUpstream web = proxies.keep(new TestUpstream("web"));
    ByteEchoBackend raw = proxies.keep(new ByteEchoBackend(null));
    ProxyServer p = start(web.port(), raw.port(), "0s", true); // no timeout: only a drain ends a silent client
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("auto").getPort())) {
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(p.activeConnections())
          .as("set up, sent nothing: still inspected, and already a downstream connection a drain tells").isEqualTo(1));
      HttpResponse<String> drained = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort() + "/drain_listeners"))
              .POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(drained.statusCode()).isEqualTo(200);
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).as("closed by the drain").isEqualTo(-1);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> p.activeConnections() == 0);
    assertThat(raw.connections.get()).isZero();
    assertThat(web.requests.get()).isZero();
  }
}
