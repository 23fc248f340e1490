package io.keelson.dataplane.http2;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An h2c connection of a listener an update changes in place (same name and address, routes to v2 instead of
 * v1): as in Envoy, it is drained with a GOAWAY, its stream in flight finishes, and it closes; a new connection
 * gets the new config. Before the change it stayed open and its next streams were served with the new config.
 */
class Http2InPlaceUpdateTest {
  private static String yaml(String to, TestUpstream v1, TestUpstream v2) {
    return bootstrap(allTo(to), cluster("v1", "ROUND_ROBIN", v1.port()) + cluster("v2", "ROUND_ROBIN", v2.port()));
  }

  private static FullHttpResponse get(H2Client client, String path) throws Exception {
    return client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path)).get(10, TimeUnit.SECONDS);
  }

  /** Asserts {@code r} is a 200 from {@code upstream}, and releases it. */
  private static void assertFrom(FullHttpResponse r, String upstream) {
    try {
      assertThat(r.status().code()).as(r.content().toString(StandardCharsets.UTF_8)).isEqualTo(200);
      assertThat(r.headers().get("x-upstream")).isEqualTo(upstream);
    } finally {
      r.release();
    }
  }

  @Test
  void anHttp2ConnectionIsDrainedWithAGoawayAfterItsStreamAndNewConnectionsGetTheNewConfig() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream v2 = new TestUpstream("v2");
        ProxyHarness proxy = new ProxyHarness(yaml("v1", v1, v2), PipelineMode.INLINE)) {
      ProxySnapshot base = proxy.server.snapshot().config();
      ListenerConfig toV2 = BootstrapLoader.fromYaml(yaml("v2", v1, v2), "v2.yaml").listeners().getFirst();
      int port = proxy.port();
      try (H2Client client = new H2Client(port)) {
        assertFrom(get(client, "/before"), "v1");
        int before = v1.requests.get();
        var pending = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/delay/500"));
        await().atMost(Duration.ofSeconds(10)).until(() -> v1.requests.get() > before); // the stream is open

        proxy.server.install(new ProxySnapshot("2", List.of(toV2), base.clusters(), base.configDump(), base.warnings()));

        assertFrom(pending.get(10, TimeUnit.SECONDS), "v1");
        await("closed after its stream (GOAWAY)").atMost(Duration.ofSeconds(10))
            .until(() -> !client.connection.isActive());
      }
      try (H2Client client = new H2Client(port)) {
        assertFrom(get(client, "/after"), "v2");
        assertFrom(get(client, "/after-again"), "v2");
        assertThat(client.connection.isActive()).as("a new connection is not drained").isTrue();
      }
    }
  }
}
