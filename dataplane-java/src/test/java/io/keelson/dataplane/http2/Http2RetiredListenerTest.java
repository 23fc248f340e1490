package io.keelson.dataplane.http2;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 (h2c) connections accepted just before their listener is removed: a stream opened before the
 * client sees the GOAWAY is served with the old listener's config, one opened after it is refused by the
 * GOAWAY (safe to retry); none gets a 503 "listener removed", and the connection closes.
 */
class Http2RetiredListenerTest {
  @Test
  void streamsOnAConnectionRacingTheRemovalOfItsListenerAreServedOrRefusedNeverListenerRemoved() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())), PipelineMode.INLINE)) {
      ProxySnapshot base = proxy.server.snapshot().config();
      ListenerConfig ingress = base.listeners().getFirst();
      int served = 0;
      for (int i = 0; i < 10; i++) {
        ListenerConfig extra = new ListenerConfig("extra", "127.0.0.1", 0, ingress.http(), null, null, List.of(), false, List.of());
        proxy.server.update(new ProxySnapshot("add" + i, List.of(ingress, extra), base.clusters(), base.configDump(), base.warnings()));
        int port = proxy.server.boundListeners().get("extra").getPort();
        try (H2Client client = new H2Client(port)) {
          var pending = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/r" + i));
          proxy.server.update(new ProxySnapshot("remove" + i, List.of(ingress), base.clusters(), base.configDump(), base.warnings()));
          FullHttpResponse r;
          try {
            r = pending.get(10, TimeUnit.SECONDS);
          } catch (ExecutionException refusedOrNotAccepted) {
            continue;
          }
          try {
            assertThat(r.status().code()).as("attempt %d: %s", i, r.content().toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(200);
            assertThat(r.headers().get("x-upstream")).isEqualTo("v1");
            served++;
          } finally {
            r.release();
          }
          await().atMost(Duration.ofSeconds(40)).until(() -> !client.connection.isActive());
        }
      }
      System.out.println("h2 streams served across a removal: " + served + " of 10");
    }
  }
}
