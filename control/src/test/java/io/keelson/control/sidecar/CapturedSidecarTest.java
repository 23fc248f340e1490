package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.server.ProxyOptions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real sidecar started with capture on ({@code --capture iptables --address IP}) against a real
 * control plane: it binds its placeholder virtualInbound/virtualOutbound on all addresses, registers
 * its workload at the pod address and app port, and the control plane translates the captured shape
 * for it with the ports it actually bound. (Traffic through the captured listeners, with iptables in
 * network namespaces: CapturedMeshTest.)
 */
class CapturedSidecarTest {
  @Test
  void aCapturedSidecarRegistersItsPodAddressAndAppPortAndGetsVirtualListenersOnItsPorts() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001))) {
      cp.store.apply(PolicyParser.parse("reviews.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: reviews }
          spec:
            ports: [ { name: http, port: 9080 } ]
          """).policies(), false);
      SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.xds.port(), "reviews", Map.of("version", "v1"), 9080,
          0, 0, "127.0.0.1", 0, false, "10.1.0.7");
      try (Sidecar sidecar = Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500))) {
        assertThat(sidecar.nodeId()).isEqualTo("reviews-10.1.0.7");
        assertThat(sidecar.inboundAddress().getAddress().isAnyLocalAddress()).as("virtualInbound on [::]").isTrue();
        assertThat(sidecar.outboundAddress().getAddress().isAnyLocalAddress()).as("virtualOutbound on [::]").isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().containsKey(sidecar.nodeId()));
        var workload = cp.xds.registeredWorkloads().get(sidecar.nodeId());
        assertThat(workload.address() + ":" + workload.port()).isEqualTo("10.1.0.7:9080");
        var resources = cp.xds.resourcesFor(sidecar.nodeId());
        assertThat(resources.listeners()).extracting(Listener::getName)
            .containsExactly("virtualOutbound", "virtualInbound", "0.0.0.0_9080");
        assertThat(port(resources, "virtualInbound")).isEqualTo(sidecar.inboundAddress().getPort());
        assertThat(port(resources, "virtualOutbound")).isEqualTo(sidecar.outboundAddress().getPort());
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().isEmpty());
    }
  }

  private static int port(io.keelson.control.xds.MeshResources r, String listener) {
    return r.listeners().stream().filter(l -> l.getName().equals(listener)).findFirst().orElseThrow()
        .getAddress().getSocketAddress().getPortValue();
  }
}
