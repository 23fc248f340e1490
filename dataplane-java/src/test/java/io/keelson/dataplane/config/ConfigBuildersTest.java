package io.keelson.dataplane.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.tls.ForwardClientCert;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The config records' builders start from the defaults the removed convenience constructors filled in. */
class ConfigBuildersTest {
  private static final List<EndpointConfig> ENDPOINTS = List.of(new EndpointConfig("10.0.0.1", 8080, 1));

  @Test
  void aClusterBuilderDefaultsToAPlaintextHttp11ClusterWithEnvoysDefaults() {
    ClusterConfig c = ClusterConfig.builder("c", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), ENDPOINTS).build();
    assertThat(c).isEqualTo(new ClusterConfig("c", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), ENDPOINTS,
        CircuitBreakerConfig.DEFAULTS, null, ClusterConfig.DEFAULT_IDLE_TIMEOUT, Duration.ZERO, null, null, LbOptions.DEFAULTS,
        null));
    assertThat(c.http2Upstream()).isFalse();
  }

  @Test
  void toBuilderKeepsEveryComponent() {
    ClusterConfig c = ClusterConfig.builder("c", LbPolicy.LEAST_REQUEST, Duration.ofSeconds(2), ENDPOINTS)
        .idleTimeout(Duration.ofSeconds(9)).maxConnectionDuration(Duration.ofMinutes(1)).http2(Http2Options.DEFAULT).build();
    assertThat(c.toBuilder().build()).isEqualTo(c);
    assertThat(c.toBuilder().endpoints(List.of()).build().endpoints()).isEmpty();
  }

  @Test
  void aConnectionManagerBuilderDefaultsToOnlyTheRouterAndNoLimits() {
    RouteConfig routes = new RouteConfig("r", List.of(), HeaderMutations.NONE, HeaderMutations.NONE);
    HttpConnectionManagerConfig h = HttpConnectionManagerConfig.builder("in", routes).build();
    assertThat(h).isEqualTo(new HttpConnectionManagerConfig("in", routes, HttpLimits.DEFAULT, false, true, Duration.ZERO,
        Duration.ZERO, List.of(), null, Duration.ZERO, Http2Options.DEFAULT,
        HttpConnectionManagerConfig.DEFAULT_STREAM_IDLE_TIMEOUT, List.of(), Map.of(), ForwardClientCert.DEFAULT));
  }

  @Test
  void forwardToOneClusterHasNoRewritesRetriesOrPolicies() {
    RouteAction.Forward f = RouteAction.Forward.toCluster("a", Duration.ofSeconds(15));
    assertThat(f.clusters()).containsExactly(new RouteAction.WeightedCluster("a", 1, HeaderMutations.NONE, HeaderMutations.NONE));
    assertThat(f.totalWeight()).isEqualTo(1);
    assertThat(f.retryPolicy()).isNull();
    assertThat(f.hashPolicies()).isEmpty();
    assertThat(f.mirrors()).isEmpty();
    assertThat(f.upgrades()).isEmpty();
  }
}
