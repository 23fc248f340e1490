package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@code trafficDistribution: PreferSameNode} end to end over ADS: sidecars register from nodes that send Istio's
 * {@code NODE_NAME} and a locality, and what each proxy's xDS client installs from the EDS it is sent orders the
 * endpoints by its own node first, then subzone, zone and region (istiod's failoverPriority for it).
 */
class PreferSameNodeAdsTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { trafficDistribution: PreferSameNode, ports: [ { name: http, port: 80 } ] }
      """;

  /** A proxy's xDS client and the last snapshot it installed. */
  private record Proxy(XdsClient client, AtomicReference<ProxySnapshot> installed) implements AutoCloseable {
    /** Endpoint port to priority of {@code cluster} as installed. */
    Map<Integer, Integer> priorities(String cluster) {
      ProxySnapshot s = installed.get();
      ClusterConfig c = s == null ? null : s.clusters().get(cluster);
      Map<Integer, Integer> out = new TreeMap<>();
      if (c != null) {
        for (EndpointConfig e : c.endpoints()) {
          out.put(e.port(), e.priority());
        }
      }
      return out;
    }

    @Override
    public void close() {
      client.close();
    }
  }

  /**
   * A sidecar on Kubernetes node {@code nodeName} in {@code region/zone/subzone}, registering reviews at {@code port}
   * (0: none) labelled with that node (as {@code bin/keelson proxy --labels kubernetes.io/hostname=...}).
   */
  private static Proxy sidecar(XdsServer xds, String id, String nodeName, String zone, int port) {
    return sidecar(xds, id, nodeName, zone, port, true);
  }

  private static Proxy sidecar(XdsServer xds, String id, String nodeName, String zone, int port, boolean labelled) {
    return sidecar(xds, id, nodeName, zone, port, labelled, null);
  }

  /** As above, on Istio network {@code network} (its metadata NETWORK, and its endpoint's label), unless null. */
  private static Proxy sidecar(XdsServer xds, String id, String nodeName, String zone, int port, boolean labelled,
      String network) {
    return sidecar(xds, id, nodeName, zone, port, labelled, network, network);
  }

  /**
   * As above, its metadata NETWORK {@code network} and its registered endpoint's label
   * {@code topology.istio.io/network} {@code labelNetwork} (as {@code --labels}), each unless null.
   */
  private static Proxy sidecar(XdsServer xds, String id, String nodeName, String zone, int port, boolean labelled,
      String network, String labelNetwork) {
    Struct.Builder md = Struct.newBuilder()
        .putFields(NodeRegistration.NODE_NAME, Value.newBuilder().setStringValue(nodeName).build());
    if (network != null) {
      md.putFields(NodeRegistration.NETWORK, Value.newBuilder().setStringValue(network).build());
    }
    if (labelled && port > 0) {
      Struct.Builder labels = Struct.newBuilder()
          .putFields("kubernetes.io/hostname", Value.newBuilder().setStringValue(nodeName).build());
      if (labelNetwork != null) {
        labels.putFields("topology.istio.io/network", Value.newBuilder().setStringValue(labelNetwork).build());
      }
      md.putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(labels).build());
    }
    if (port > 0) {
      md.putFields(NodeRegistration.SERVICE, Value.newBuilder().setStringValue("reviews").build())
          .putFields(NodeRegistration.ADDRESS, Value.newBuilder().setStringValue("127.0.0.1").build())
          .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(port).build());
    }
    Node node = Node.newBuilder().setId(id).setCluster(id)
        .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion("us-west").setZone(zone)
            .setSubZone("rack1"))
        .setMetadata(md).build();
    AtomicReference<ProxySnapshot> installed = new AtomicReference<>();
    XdsClient client = XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), installed::set);
    return new Proxy(client, installed);
  }

  @Test
  void eachProxyIsSentItsOwnNodesEndpointsFirstThenItsZoneThenItsRegion() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        Proxy r1 = sidecar(xds, "reviews-1", "node-1", "a", 18081);
        Proxy r2 = sidecar(xds, "reviews-2", "node-2", "a", 18082);
        Proxy r3 = sidecar(xds, "reviews-3", "node-3", "b", 18083);
        // says NODE_NAME node-2 without the label: its NODE_NAME places it as a caller, never its endpoint
        Proxy claims = sidecar(xds, "reviews-4", "node-2", "a", 18084, false);
        Proxy web = sidecar(xds, "web-1", "node-2", "a", 0)) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        // a registered sidecar calling its own service: itself (node-1), its zone's (node-2), the other zone's
        assertThat(r1.priorities("reviews")).isEqualTo(Map.of(18081, 0, 18082, 1, 18084, 1, 18083, 2));
        assertThat(r3.priorities("reviews")).isEqualTo(Map.of(18083, 0, 18081, 1, 18082, 1, 18084, 1));
        // a sidecar registering nothing is placed by its node's NODE_NAME and locality alone
        assertThat(web.priorities("reviews")).isEqualTo(Map.of(18082, 0, 18081, 1, 18084, 1, 18083, 2));
        // the unlabelled one is still placed by its NODE_NAME as a caller
        assertThat(claims.priorities("reviews")).isEqualTo(Map.of(18082, 0, 18081, 1, 18084, 1, 18083, 2));
      });
      // The same proxies without the distribution: every endpoint at priority 0 (no outlierDetection).
      store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("trafficDistribution: PreferSameNode, ", ""))
          .policies(), false);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(web.priorities("reviews")).isEqualTo(Map.of(18081, 0, 18082, 0, 18083, 0, 18084, 0)));
    }
  }

  @Test
  void theCallersNetworkComesBeforeItsNodeAsIstiods() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        Proxy near = sidecar(xds, "reviews-1", "node-1", "a", 18091, true, "net-east");
        Proxy far = sidecar(xds, "reviews-2", "node-2", "b", 18092, true, "net-west");
        Proxy web = sidecar(xds, "web-1", "node-1", "a", 0, true, "net-west")) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        // web shares node and zone with reviews-1, but its network with reviews-2 only: the network goes first
        assertThat(web.priorities("reviews")).isEqualTo(Map.of(18092, 0, 18091, 1));
        assertThat(near.priorities("reviews")).isEqualTo(Map.of(18091, 0, 18092, 1));
      });
    }
  }

  /**
   * Every proxy on one network by its metadata {@code NETWORK} alone (Istio's injected default), no endpoint labelled
   * with it: each registered endpoint has its proxy's network (istiod's AugmentLabels), so node and zone still decide,
   * for PreferSameNode and PreferClose. A registry Workload without a network is another network's for a caller that
   * has one: istiod compares the caller's value with the endpoint's, missing or not ({@code applyFailoverPriorities}).
   */
  @Test
  void oneNetworkFromEveryProxysMetadataLeavesNodeAndZoneToDecide() throws Exception {
    String unlabelled = """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: reviews-static }
        spec: { service: reviews, address: 127.0.0.1, port: 18089, locality: us-west/a/rack1,
                labels: { kubernetes.io/hostname: node-1 } }
        """;
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH + unlabelled).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        Proxy r1 = sidecar(xds, "reviews-1", "node-1", "a", 18081, true, "net1", null);
        Proxy r2 = sidecar(xds, "reviews-2", "node-2", "a", 18082, true, "net1", null);
        Proxy r3 = sidecar(xds, "reviews-3", "node-3", "b", 18083, true, "net1", null)) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        // its own node 0, its zone 1, the other zone 2; the workload without a network last, its node and zone aside
        assertThat(r1.priorities("reviews")).isEqualTo(Map.of(18081, 0, 18082, 1, 18083, 2, 18089, 3));
        assertThat(r3.priorities("reviews")).isEqualTo(Map.of(18083, 0, 18081, 1, 18082, 1, 18089, 2));
      });
      store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("PreferSameNode", "PreferClose") + unlabelled)
          .policies(), false);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        // PreferClose: [network, region, zone]: its zone 0, the other zone 1, the workload without a network 2
        assertThat(r1.priorities("reviews")).isEqualTo(Map.of(18081, 0, 18082, 0, 18083, 1, 18089, 2));
        assertThat(r2.priorities("reviews")).isEqualTo(Map.of(18081, 0, 18082, 0, 18083, 1, 18089, 2));
      });
    }
  }

  /**
   * A workload's own network label wins over its proxy's metadata {@code NETWORK}, for its endpoint and for the proxy as
   * a caller (istiod's AugmentLabels sets the network only where the labels have none), for PreferClose too.
   */
  @Test
  void aWorkloadsNetworkLabelWinsOverItsProxysMetadata() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("PreferSameNode", "PreferClose")).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        Proxy east = sidecar(xds, "reviews-1", "node-1", "a", 18091, true, "net-west", "net-east");
        Proxy far = sidecar(xds, "reviews-2", "node-2", "b", 18092, true, "net-east", null);
        Proxy west = sidecar(xds, "reviews-3", "node-1", "a", 18093, true, "net-west", null)) {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        // reviews-1 is on net-east (its label): net-east's endpoints first, its zone's before the other's
        assertThat(east.priorities("reviews")).isEqualTo(Map.of(18091, 0, 18092, 1, 18093, 2));
        // reviews-3 shares reviews-1's zone but not its network
        assertThat(west.priorities("reviews")).isEqualTo(Map.of(18093, 0, 18091, 1, 18092, 1));
        assertThat(far.priorities("reviews")).isEqualTo(Map.of(18092, 0, 18091, 1, 18093, 2));
      });
    }
  }
}
