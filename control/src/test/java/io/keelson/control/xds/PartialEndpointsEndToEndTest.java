package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Keelson's own xDS client (state of the world) given an EDS response that carries only the changed
 * endpoint lists keeps the lists the response left out, and ACKs the new version.
 */
class PartialEndpointsEndToEndTest {
  private static List<Integer> ports(ProxySnapshot s, String cluster) {
    ClusterConfig c = s.cluster(cluster);
    return c == null ? List.of() : c.endpoints().stream().map(EndpointConfig::port).sorted().toList();
  }

  @Test
  void aSidecarSentOnlyTheChangedListsKeepsTheUnchangedOnesEndpoints() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    AtomicReference<ProxySnapshot> installed = new AtomicReference<>();
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient client = XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false,
                Node.newBuilder().setId("sidecar").build()).withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)),
            installed::set)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> installed.get() != null
          && ports(installed.get(), "product-service|v2").equals(List.of(8082))
          && acked(xds, "sidecar", xds.current().endpointsVersion()));
      assertThat(xds.endpointsOmitted()).as("the first response is complete").isZero();
      // A route change first (clusters and endpoints unchanged): it must not make the next EDS response complete.
      String routes = xds.current().routesVersion();
      store.apply(PolicyParser.parse("vs.yaml", Mesh.split(50, 50)).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> !xds.current().routesVersion().equals(routes)
          && xds.status().stream().anyMatch(p -> p.nodeId().equals("sidecar") && p.types().containsKey("routes")
              && xds.current().routesVersion().equals(p.types().get("routes").acked())));

      // product-v1 moves: the service's list and v1's change, v2's is the same instance and is left out.
      store.apply(PolicyParser.parse("registry.yaml", Mesh.registry(9091, 8082)).policies(), false);

      await().atMost(Duration.ofSeconds(20)).until(() -> ports(installed.get(), "product-service|v1").equals(List.of(9091))
          && acked(xds, "sidecar", xds.current().endpointsVersion()));
      assertThat(xds.endpointsOmitted()).as("v2's list was not sent again").isEqualTo(1);
      ProxySnapshot s = installed.get();
      assertThat(ports(s, "product-service|v2")).as("kept from the earlier response").containsExactly(8082);
      assertThat(ports(s, "product-service")).containsExactly(8082, 9091);

      // And back: only the changed lists again, the proxy still has all three.
      store.apply(PolicyParser.parse("registry.yaml", Mesh.registry(8081, 8082)).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> ports(installed.get(), "product-service|v1").equals(List.of(8081))
          && acked(xds, "sidecar", xds.current().endpointsVersion()));
      assertThat(xds.endpointsOmitted()).isEqualTo(2);
      assertThat(ports(installed.get(), "product-service|v2")).containsExactly(8082);
      assertThat(ports(installed.get(), "product-service")).containsExactly(8081, 8082);
    }
  }

  private static boolean acked(XdsServer xds, String node, String endpointsVersion) {
    return xds.status().stream().anyMatch(p -> p.nodeId().equals(node)
        && p.types().containsKey("endpoints") && endpointsVersion.equals(p.types().get("endpoints").acked()));
  }
}
