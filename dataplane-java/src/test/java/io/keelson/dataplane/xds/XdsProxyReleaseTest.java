package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.Reachability;
import io.keelson.dataplane.testing.TestUpstream;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A closed proxy fed over xDS (its client closed too) is collected, as a static one is (server/ProxyServerReleaseTest). */
class XdsProxyReleaseTest {
  @Test
  void aClosedProxyFedOverXdsIsCollected() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1"); JavaControlPlane controlPlane = new JavaControlPlane().start()) {
      WeakReference<ProxyServer> server = startServeAndClose(controlPlane, v1);
      assertThat(Reachability.collected(server)).as("the closed ProxyServer is still reachable after System.gc()")
          .isTrue();
    }
  }

  /** In a frame of its own, so that no local keeps the proxy or its client. */
  private static WeakReference<ProxyServer> startServeAndClose(JavaControlPlane controlPlane, TestUpstream v1)
      throws Exception {
    ProxyServer p = new ProxyServer(BootstrapLoader.fromYaml(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())),
        "test.yaml"), ProxyOptions.defaults().withConcurrency(2).withPipeline(PipelineMode.DISRUPTOR)
        .withAdmin("127.0.0.1", 0).withDrainTime(Duration.ofSeconds(1))).start();
    try (p; XdsClient client = XdsClient.startInstalling(
        XdsClientConfig.of("127.0.0.1", controlPlane.port(), true, Node.newBuilder().setId("release").build()),
        p::install)) {
      p.attach(client);
      int ingress = p.listenerAddress("ingress").getPort();
      controlPlane.set(snapshot("1", List.of(edsCluster("v1")), List.of(endpoints("v1", v1.port(), 1)),
          List.of(listener(ingress)), List.of(route("v1", "1"))));
      await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
          && client.lastSnapshot().version().contains("LDS=1"));
      assertThat(CurlStatus.of("http://127.0.0.1:" + ingress + "/over-xds")).isEqualTo("200");
      assertThat(CurlStatus.of("--http2-prior-knowledge", "http://127.0.0.1:" + ingress + "/over-xds")).isEqualTo("200");
      return new WeakReference<>(p);
    }
  }
}
