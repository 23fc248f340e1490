package io.keelson.dataplane.http1;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Shutdown stops accepting, lets in-flight requests finish and closes idle keep-alive connections. */
class GracefulDrainTest {
  private static final String ROUTES = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  @Test
  void finishesInFlightRequestsAndClosesIdleConnectionsOnShutdown() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      ProxyHarness proxy = new ProxyHarness(bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", a.port())), PipelineMode.INLINE);
      int port = proxy.port();
      try (RawHttp idle = new RawHttp(port)) {
        assertThat(idle.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
        CompletableFuture<HttpResponse<String>> inFlight =
            CompletableFuture.supplyAsync(() -> {
              try {
                return proxy.get("/delay/700");
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
        await().atMost(Duration.ofSeconds(5)).until(() -> a.requestLines.stream().anyMatch(l -> l.contains("/delay/700")));
        CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);

        HttpResponse<String> r = inFlight.get();
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("connection")).hasValue("close");
        assertThat(idle.closedByPeer(3000)).as("idle keep-alive connection closed").isTrue();
        closing.get();
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(IOException.class);
      }
    }
  }
}
