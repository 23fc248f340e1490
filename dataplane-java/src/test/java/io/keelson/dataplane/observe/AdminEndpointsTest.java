package io.keelson.dataplane.observe;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Envoy's admin endpoints: /stats, /listeners, /healthz and POST /drain_listeners. */
class AdminEndpointsTest {
  private static final String ROUTES = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  private static HttpResponse<String> admin(ProxyHarness proxy, String method, String path) throws Exception {
    return proxy.client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.adminPort() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void statsListenersAndHealthzInEnvoysTextForms() throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", a.port())), PipelineMode.INLINE)) {
      proxy.get("/x");
      proxy.get("/y");
      String stats = proxy.admin("/stats");
      assertThat(stats).contains("cluster.a.upstream_rq_total: 2\n", "cluster.a.upstream_rq_2xx: 2\n",
          "http.ingress_http.downstream_rq_total: 2\n");
      assertThat(stats.lines().toList()).isSorted();
      assertThat(proxy.admin("/listeners")).isEqualTo("ingress::127.0.0.1:" + proxy.port() + "\n");
      HttpResponse<String> health = admin(proxy, "GET", "/healthz");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.body()).isEqualTo("OK\n");
    }
  }

  /** Envoy's serverState(): an initialized server whose health check failed is DRAINING, /ready included. */
  @Test
  void healthcheckFailMakesTheServerDrainingUntilHealthcheckOk() throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", a.port())), PipelineMode.INLINE)) {
      assertThat(admin(proxy, "POST", "/healthcheck/fail").statusCode()).isEqualTo(200);
      HttpResponse<String> ready = admin(proxy, "GET", "/ready");
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(ready.body()).isEqualTo("DRAINING\n");
      assertThat(proxy.stat("server.state")).isEqualTo(1);
      assertThat(proxy.admin("/stats/prometheus")).contains("envoy_server_state 1\n", "envoy_server_live 0\n");
      assertThat(proxy.get("/x").statusCode()).as("traffic is still served").isEqualTo(200);

      assertThat(admin(proxy, "POST", "/healthcheck/ok").statusCode()).isEqualTo(200);
      assertThat(admin(proxy, "GET", "/ready").body()).isEqualTo("LIVE\n");
      assertThat(proxy.stat("server.state")).isZero();
    }
  }

  @Test
  void drainListenersStopsAcceptingAndClosesIdleConnectionsButKeepsTheAdminUp() throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", a.port())), PipelineMode.INLINE)) {
      int port = proxy.port();
      try (RawHttp idle = new RawHttp(port)) {
        assertThat(idle.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
        assertThat(admin(proxy, "GET", "/drain_listeners").statusCode()).isEqualTo(405);
        assertThat(admin(proxy, "POST", "/drain_listeners").statusCode()).isEqualTo(200);
        assertThat(idle.closedByPeer(3000)).as("idle keep-alive connection closed").isTrue();
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        try (Socket s = new Socket("127.0.0.1", port)) {
          return false;
        } catch (IOException refused) {
          return true;
        }
      });
      assertThat(admin(proxy, "GET", "/healthz").statusCode()).isEqualTo(503);
      assertThat(admin(proxy, "GET", "/ready").statusCode()).isEqualTo(503);
      assertThat(proxy.admin("/listeners")).isEmpty();
    }
  }

  /**
   * What /drain_listeners leaves open is closed when the drain time has passed, as shutdown and a removed listener's
   * drain close it: here an exchange whose upstream answers only after 5 s, with a 1 s drain time. Before, nothing
   * ever closed it.
   */
  @Test
  void drainListenersClosesWhatIsStillOpenAtTheDrainTime() throws Exception {
    long drainMillis = 1_000;
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", a.port())), PipelineMode.INLINE,
            null, Duration.ofMillis(drainMillis));
        RawHttp slow = new RawHttp(proxy.port())) {
      slow.send("GET /delay/5000 HTTP/1.1\r\nHost: x\r\n\r\n");
      await().atMost(Duration.ofSeconds(5)).until(() -> a.requestLines.stream().anyMatch(l -> l.contains("/delay/5000")));
      long began = System.nanoTime();
      assertThat(admin(proxy, "POST", "/drain_listeners").statusCode()).isEqualTo(200);
      assertThat(slow.closedByPeer((int) (drainMillis / 2))).as("in flight: still open at half the drain time").isFalse();
      assertThat(slow.closedByPeer(4_000)).as("closed at the drain time").isTrue();
      long millis = Duration.ofNanos(System.nanoTime() - began).toMillis();
      assertThat(millis).as("ms from /drain_listeners to the close").isBetween(drainMillis - 20, 4_500L);
      assertThat(admin(proxy, "GET", "/ready").statusCode()).as("the process keeps running, draining").isEqualTo(503);
    }
  }
}
