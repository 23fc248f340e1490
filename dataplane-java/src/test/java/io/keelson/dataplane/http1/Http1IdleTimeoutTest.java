package io.keelson.dataplane.http1;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import org.junit.jupiter.api.Test;

/** The listener's idle_timeout closes keep-alive connections without an exchange, never one mid-exchange. */
class Http1IdleTimeoutTest {
  private static final String ROUTES = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: a, timeout: 5s }
      """;

  private static ProxyHarness proxyWithIdleTimeout(TestUpstream a, String idleTimeout) throws Exception {
    String config = bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", a.port()))
        .replace("stat_prefix: ingress_http",
            "stat_prefix: ingress_http\n          common_http_protocol_options: { idle_timeout: " + idleTimeout + " }");
    return new ProxyHarness(config, PipelineMode.INLINE);
  }

  @Test
  void closesAKeepAliveConnectionIdleForTheTimeout() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      ProxyHarness proxy = proxyWithIdleTimeout(a, "0.3s");
      try (RawHttp c = new RawHttp(proxy.port())) {
        assertThat(c.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
        long start = System.nanoTime();
        assertThat(c.closedByPeer(5000)).as("idle connection closed by the proxy").isTrue();
        assertThat((System.nanoTime() - start) / 1_000_000).as("ms until closed").isGreaterThanOrEqualTo(250);
      } finally {
        proxy.close();
      }
    }
  }

  @Test
  void keepsAConnectionWhoseExchangeOutlastsTheIdleTimeout() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      ProxyHarness proxy = proxyWithIdleTimeout(a, "0.3s");
      try (RawHttp c = new RawHttp(proxy.port())) {
        RawHttp.Response slow = c.send("GET /delay/900 HTTP/1.1\r\nHost: x\r\n\r\n").read();
        assertThat(slow.status()).isEqualTo(200);
        assertThat(slow.header("connection")).isNull();
        // Still usable right after: the idle time counts from the end of the exchange.
        assertThat(c.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
        assertThat(c.closedByPeer(5000)).as("closed once idle").isTrue();
      } finally {
        proxy.close();
      }
    }
  }

  @Test
  void keepsAConnectionThatIsNeverIdleForTheTimeout() throws Exception {
    try (TestUpstream a = new TestUpstream("a")) {
      ProxyHarness proxy = proxyWithIdleTimeout(a, "0.6s");
      try (RawHttp c = new RawHttp(proxy.port())) {
        for (int i = 0; i < 8; i++) {
          assertThat(c.send("GET /n" + i + " HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
          assertThat(c.closedByPeer(150)).as("open after request %d", i).isFalse();
        }
      } finally {
        proxy.close();
      }
    }
  }
}
