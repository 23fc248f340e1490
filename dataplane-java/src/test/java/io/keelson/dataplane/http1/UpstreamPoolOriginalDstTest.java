package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.OriginalDstConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.transport.Transport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An ORIGINAL_DST cluster's hosts in the upstream pool: reused while in use, forgotten after cleanup_interval. */
class UpstreamPoolOriginalDstTest {
  private static final EndpointConfig A = new EndpointConfig("10.123.0.1", 8080, 1);
  private static final EndpointConfig B = new EndpointConfig("10.123.0.2", 8080, 1);

  private final UpstreamPool pool = new UpstreamPool(Transport.NIO, new io.keelson.dataplane.stats.StatsRegistry());

  private static ServingCluster passthrough(Duration cleanup) {
    ClusterConfig c = ClusterConfig.builder("PassthroughCluster", LbPolicy.CLUSTER_PROVIDED, Duration.ofSeconds(1), List.of())
        .originalDst(new OriginalDstConfig(false, OriginalDstConfig.DEFAULT_HEADER, cleanup)).build();
    return new ServingCluster(c, null, null, null, null);
  }

  @Test
  void aHostInUseKeepsItsEndpoint() {
    ServingCluster c = passthrough(Duration.ofHours(1));
    var first = pool.endpoint(A, c);
    assertThat(pool.endpoint(A, c)).isSameAs(first);
    pool.endpoint(B, c);
    assertThat(pool.originalDstHosts()).isEqualTo(2);
  }

  @Test
  void aHostUnusedForTheCleanupIntervalIsForgotten() {
    ServingCluster c = passthrough(Duration.ofMillis(50));
    pool.endpoint(A, c);
    // B keeps being used; A, unused with no idle connection, goes once the interval has passed.
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(() -> {
      pool.endpoint(B, c);
      return pool.originalDstHosts() == 1;
    });
    var b = pool.endpoint(B, c);
    assertThat(pool.endpoint(B, c)).isSameAs(b);
  }
}
