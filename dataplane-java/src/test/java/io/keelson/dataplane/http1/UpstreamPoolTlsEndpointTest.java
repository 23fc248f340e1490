package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.tls.ClientTls;
import io.keelson.dataplane.tls.TlsParams;
import io.keelson.dataplane.tls.UpstreamTlsConfig;
import io.keelson.dataplane.transport.Transport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which idle connections a TLS cluster's request may reuse: the pool's endpoint lookup (no sockets). */
class UpstreamPoolTlsEndpointTest {
  private static final EndpointConfig ENDPOINT = new EndpointConfig("127.0.0.1", 9443, 1);

  private static ServingCluster cluster(String name, UpstreamTlsConfig tls) {
    ClusterConfig.Builder b = ClusterConfig.builder(name, LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), List.of(ENDPOINT));
    if (tls != null) {
      b.tls(new ClientTls(tls, null, null));
    }
    return new ServingCluster(b.build(), null, null, null, null);
  }

  private static UpstreamTlsConfig tls(String sni) {
    return new UpstreamTlsConfig(sni, null, null, null, List.of(), TlsParams.DEFAULT);
  }

  private final UpstreamPool pool = new UpstreamPool(Transport.NIO, new io.keelson.dataplane.stats.StatsRegistry());

  @Test
  void aTlsClusterNeverSharesThePlaintextEndpointsIdleConnections() {
    var plain = pool.endpoint(ENDPOINT, cluster("plain", null));
    var tls = pool.endpoint(ENDPOINT, cluster("mtls", tls("b.mesh")));
    assertThat(tls).isNotSameAs(plain);
    assertThat(pool.endpoint(ENDPOINT, cluster("plain", null))).isSameAs(plain);
  }

  @Test
  void theSameTlsConfigFindsTheSameEndpointEveryTime() {
    ServingCluster c = cluster("mtls", tls("b.mesh"));
    var first = pool.endpoint(ENDPOINT, c);
    for (int i = 0; i < 3; i++) {
      assertThat(pool.endpoint(ENDPOINT, c)).isSameAs(first);
    }
  }

  @Test
  void anEqualTlsConfigFromANewSnapshotReusesTheEndpointAndADifferentOneDoesNot() {
    var first = pool.endpoint(ENDPOINT, cluster("mtls", tls("b.mesh")));
    assertThat(pool.endpoint(ENDPOINT, cluster("mtls", tls("b.mesh")))).isSameAs(first); // equal, not identical
    assertThat(pool.endpoint(ENDPOINT, cluster("mtls", tls("c.mesh")))).isNotSameAs(first);
  }

  @Test
  void manyConfigPushesKeepFindingTheEndpointOfAnEqualConfig() {
    var first = pool.endpoint(ENDPOINT, cluster("mtls", tls("b.mesh")));
    for (int i = 0; i < UpstreamPool.MAX_TLS_CONFIGS_CACHED * 3; i++) {
      assertThat(pool.endpoint(ENDPOINT, cluster("mtls", tls("b.mesh")))).isSameAs(first);
    }
  }
}
