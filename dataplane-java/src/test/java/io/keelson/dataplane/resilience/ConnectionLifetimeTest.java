package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.resilience.ResilienceConfigs.stat;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Upstream idle timeout, max connection duration (both sides) and max requests per connection (upstream). */
class ConnectionLifetimeTest {
  private static final String UPSTREAM_OPTIONS = """
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          common_http_protocol_options: { %s }
          explicit_http_config: { http_protocol_options: {} }
      """;

  private static String withHcmOptions(String yaml, String options) {
    return ProxyHarness.withHcm(yaml, "common_http_protocol_options: { " + options + " }");
  }

  @Test
  void idlePooledUpstreamConnectionsCloseAfterTheClusterIdleTimeout() throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String clusters = cluster(UPSTREAM_OPTIONS.formatted("idle_timeout: 0.3s"), up.port());
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), clusters), PipelineMode.INLINE)) {
        assertThat(proxy.get("/x").statusCode()).isEqualTo(200);
        assertThat(stat(proxy.admin("/stats"), "cluster.c.upstream_cx_total")).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> stat(proxy.admin("/stats"), "cluster.c.upstream_cx_active") == 0);
        assertThat(proxy.get("/y").statusCode()).isEqualTo(200);
        assertThat(stat(proxy.admin("/stats"), "cluster.c.upstream_cx_total")).as("a new connection").isEqualTo(2);
      }
    }
  }

  @Test
  void upstreamConnectionsOlderThanMaxConnectionDurationAreNotReused() throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String clusters = cluster(UPSTREAM_OPTIONS.formatted("max_connection_duration: 0.3s"), up.port());
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), clusters), PipelineMode.INLINE)) {
        try (RawHttp c = new RawHttp(proxy.port())) {
          assertThat(c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
          assertThat(c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
          assertThat(up.connections.get()).as("reused while young").isEqualTo(1);
          Thread.sleep(600); // the connection ages past its limit (nothing to poll for: it is the point of the test)
          assertThat(c.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
          assertThat(up.connections.get()).isEqualTo(2);
        }
      }
    }
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(PipelineMode.class)
  void anUpstreamConnectionCarriesAtMostMaxRequestsPerConnection(PipelineMode mode) throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String clusters = cluster(UPSTREAM_OPTIONS.formatted("max_requests_per_connection: 2"), up.port());
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), clusters), mode);
          RawHttp c = new RawHttp(proxy.port())) {
        for (int i = 0; i < 5; i++) {
          assertThat(c.send("GET /r" + i + " HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
        }
        assertThat(up.requests.get()).isEqualTo(5);
        assertThat(up.connections.get()).as("5 requests, 2 per upstream connection").isEqualTo(3);
      }
    }
  }

  @Test
  void maxRequestsPerConnectionOnAConnectionManagerIsRefusedByPath() throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String yaml = withHcmOptions(bootstrap(routes(""), cluster("", up.port())), "max_requests_per_connection: 2");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ProxyHarness(yaml, PipelineMode.INLINE).close())
          .hasMessageContaining("common_http_protocol_options.max_requests_per_connection: is not supported on a"
              + " connection manager");
    }
  }

  @Test
  void downstreamConnectionsAreClosedPolitelyAtMaxConnectionDuration() throws Exception {
    try (TestUpstream up = new TestUpstream("a")) {
      String yaml = withHcmOptions(bootstrap(routes(""), cluster("", up.port())), "max_connection_duration: 0.5s");
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE)) {
        try (RawHttp idle = new RawHttp(proxy.port()); RawHttp busy = new RawHttp(proxy.port())) {
          assertThat(idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
          busy.send("GET /delay/1500 HTTP/1.1\r\nHost: x\r\n\r\n");
          assertThat(idle.closedByPeer(5000)).as("an idle connection closes at its age limit").isTrue();
          RawHttp.Response r = busy.read();
          assertThat(r.status()).as("the in-flight request still finishes").isEqualTo(200);
          assertThat(r.header("connection")).isEqualTo("close");
          assertThat(busy.closedByPeer(5000)).isTrue();
        }
      }
    }
  }
}
