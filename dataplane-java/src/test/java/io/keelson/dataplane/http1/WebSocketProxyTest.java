package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.WebSocketEchoServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** WebSocket over HTTP/1.1 Upgrade through the proxy: a Netty WebSocket echo server and the JDK client. */
class WebSocketProxyTest {
  private WebSocketEchoServer server;
  private ProxyHarness proxy;

  @BeforeEach
  void echoServer() throws Exception {
    server = new WebSocketEchoServer();
  }

  @AfterEach
  void close() {
    if (proxy != null) {
      proxy.close();
    }
    server.close();
  }

  private int serverPort() {
    return server.port();
  }

  private static String withUpgrades(String yaml, String hcmUpgrades) {
    return yaml.replace("          stat_prefix: ingress_http\n", "          stat_prefix: ingress_http\n" + hcmUpgrades);
  }

  private static final String ROUTES = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/ws-off" }
                      route: { cluster: ws, upgrade_configs: [ { upgrade_type: websocket, enabled: false } ] }
                    - match: { prefix: "/" }
                      route: { cluster: ws }
      """;

  private WebSocket connect(String path, LinkedBlockingQueue<String> received) throws Exception {
    return connect(proxy.port(), path, received);
  }

  private WebSocket connect(int port, String path, LinkedBlockingQueue<String> received) throws Exception {
    return HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + port + path), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            received.add(data.toString());
            ws.request(1);
            return CompletableFuture.completedFuture(null);
          }
        }).get(10, TimeUnit.SECONDS);
  }

  @Test
  void relaysWebSocketFramesBothWaysAfterTheUpgrade() throws Exception {
    proxy = new ProxyHarness(withUpgrades(ProxyHarness.bootstrap(ROUTES, ProxyHarness.cluster("ws", "ROUND_ROBIN", serverPort())),
        "          upgrade_configs: [ { upgrade_type: websocket } ]\n"), PipelineMode.INLINE);
    LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
    WebSocket ws = connect("/ws", received);
    for (int i = 0; i < 20; i++) {
      ws.sendText("m" + i, true).get(10, TimeUnit.SECONDS);
      assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo:m" + i);
    }
    String big = "x".repeat(200_000);
    ws.sendText(big, true).get(10, TimeUnit.SECONDS);
    StringBuilder got = new StringBuilder();
    while (got.length() < big.length() + 5) {
      String part = received.poll(10, TimeUnit.SECONDS);
      assertThat(part).isNotNull();
      got.append(part);
    }
    assertThat(got.toString()).isEqualTo("echo:" + big);
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
    assertThat(proxy.admin("/stats")).contains("cluster.ws.upstream_rq_1xx: 1");
  }

  @Test
  void refusesAnUpgradeThatIsNotConfiguredWith403() throws Exception {
    proxy = new ProxyHarness(ProxyHarness.bootstrap(ROUTES, ProxyHarness.cluster("ws", "ROUND_ROBIN", serverPort())), PipelineMode.INLINE);
    assertThatThrownBy(() -> connect("/ws", new LinkedBlockingQueue<>()))
        .hasRootCauseMessage("Unexpected HTTP response status code 403");
  }

  @Test
  void aRouteCanDisableTheUpgrade() throws Exception {
    proxy = new ProxyHarness(withUpgrades(ProxyHarness.bootstrap(ROUTES, ProxyHarness.cluster("ws", "ROUND_ROBIN", serverPort())),
        "          upgrade_configs: [ { upgrade_type: websocket } ]\n"), PipelineMode.INLINE);
    assertThatThrownBy(() -> connect("/ws-off", new LinkedBlockingQueue<>()))
        .hasRootCauseMessage("Unexpected HTTP response status code 403");
  }

  @Test
  void anH2cUpgradeIsStrippedAndServedAsHttp11() throws Exception {
    try (TestUpstream up = new TestUpstream("plain")) {
      proxy = new ProxyHarness(ProxyHarness.bootstrap(ROUTES, ProxyHarness.cluster("ws", "ROUND_ROBIN", up.port())), PipelineMode.INLINE);
      try (RawHttp raw = new RawHttp(proxy.port())) {
        raw.send("GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
        assertThat(raw.read().status()).isEqualTo(200);
      }
      assertThat(up.lastHeaders).doesNotContainKey("upgrade");
    }
  }
}
