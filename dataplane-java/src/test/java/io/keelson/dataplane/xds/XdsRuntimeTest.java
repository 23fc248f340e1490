package io.keelson.dataplane.xds;

import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.envoy.AdsSource;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bootstrap's {@code layered_runtime} is process-wide, as in Envoy: a connection manager delivered by LDS
 * gets the runtime's premature-reset keys, not Keelson's defaults.
 */
class XdsRuntimeTest {

  private static String bootstrapWithRuntime(int xdsPort, int upstreamPort) {
    return """
        layered_runtime:
          layers:
          - name: base
            static_layer:
              overload.premature_reset_total_stream_count: 40
              overload.premature_reset_min_stream_lifetime_seconds: 3
        """ + MeshResources.adsBootstrap(xdsPort, upstreamPort);
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void aListenerFromLdsGetsTheBootstrapsRuntimePrematureResetKeys(boolean delta) throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        JavaControlPlane controlPlane = new JavaControlPlane().start()) {
      String yaml = bootstrapWithRuntime(controlPlane.port(), v1.port());
      if (delta) {
        yaml = yaml.replace("api_type: GRPC", "api_type: DELTA_GRPC");
      }
      AdsSource ads = BootstrapLoader.parseAdsSource(yaml, "runtime.yaml");
      assertThat(ads.http2Defaults().prematureResetTotalStreamCount()).isEqualTo(40);
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE);
          XdsClient client = XdsClient.startInstalling(XdsClientConfig.fromBootstrap(ads), proxy.server::install)) {
        // The static listener already has the runtime's values.
        assertThat(http2(proxy.server.snapshot().config().listeners()).prematureResetTotalStreamCount()).isEqualTo(40);

        // The control plane replaces it with its own "ingress" (no http2_protocol_options: the defaults).
        controlPlane.set(snapshot("1", List.of(edsCluster("v1")), List.of(endpoints("v1", v1.port(), 1)),
            List.of(listener(proxy.port())), List.of(route("v1", "1"))));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
            && proxy.server.snapshot().config().version().equals(client.lastSnapshot().version()));

        assertThat(client.lastSnapshot().version()).contains("LDS=1");
        Http2Options h2 = http2(client.lastSnapshot().listeners());
        assertThat(h2.prematureResetTotalStreamCount()).isEqualTo(40);
        assertThat(h2.prematureResetMinStreamLifetimeSeconds()).isEqualTo(3);
        assertThat(http2(proxy.server.snapshot().config().listeners())).isEqualTo(h2);
        // Only the premature-reset keys come from the runtime.
        assertThat(h2.maxConcurrentStreams()).isEqualTo(Http2Options.DEFAULT.maxConcurrentStreams());
        assertThat(proxy.get("/").statusCode()).isEqualTo(200);
      }
    }
  }

  @org.junit.jupiter.api.Test
  void withoutARuntimeAnLdsListenerKeepsEnvoysDefaults() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        JavaControlPlane controlPlane = new JavaControlPlane().start()) {
      String yaml = bootstrapWithRuntime(controlPlane.port(), v1.port());
      yaml = yaml.substring(yaml.indexOf("dynamic_resources:"));
      AdsSource ads = BootstrapLoader.parseAdsSource(yaml, "plain.yaml");
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE);
          XdsClient client = XdsClient.startInstalling(XdsClientConfig.fromBootstrap(ads), proxy.server::install)) {
        controlPlane.set(snapshot("1", List.of(edsCluster("v1")), List.of(endpoints("v1", v1.port(), 1)),
            List.of(listener(proxy.port())), List.of(route("v1", "1"))));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null);
        Http2Options h2 = http2(client.lastSnapshot().listeners());
        assertThat(h2.prematureResetTotalStreamCount()).isEqualTo(500);
        assertThat(h2.prematureResetMinStreamLifetimeSeconds()).isEqualTo(1);
      }
    }
  }

  private static Http2Options http2(List<ListenerConfig> listeners) {
    assertThat(listeners).hasSize(1);
    return listeners.getFirst().http().http2();
  }
}
