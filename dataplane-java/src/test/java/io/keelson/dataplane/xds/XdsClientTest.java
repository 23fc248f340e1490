package io.keelson.dataplane.xds;

import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.healthCheckedCluster;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RouteAction;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The xDS client against a control plane built on envoyproxy's java-control-plane, over real gRPC on loopback. */
class XdsClientTest {
  private static final Node NODE = Node.newBuilder()
      .setId("product-v1-1")
      .setCluster("product-service")
      .setMetadata(Struct.newBuilder().putFields("version", Value.newBuilder().setStringValue("v1").build()))
      .build();

  private final List<ProxySnapshot> published = new CopyOnWriteArrayList<>();
  private JavaControlPlane controlPlane;
  private XdsClient client;

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  private void start(boolean delta) throws Exception {
    controlPlane = new JavaControlPlane().start();
    client = XdsClient.start(
        XdsClientConfig.of("127.0.0.1", controlPlane.port(), delta, NODE)
            .withBackoff(Duration.ofMillis(50), Duration.ofMillis(400)),
        published::add);
  }

  private void setMesh(String version, int v1Weight, int v2Weight) {
    controlPlane.set(snapshot(version,
        List.of(edsCluster("v1"), edsCluster("v2")),
        List.of(endpoints("v1", 8081, v1Weight, 8082, 1), endpoints("v2", 9091, v2Weight)),
        List.of(listener(0)),
        List.of(route("v1", "90", "v2", "10"))));
  }

  private ProxySnapshot awaitSnapshot(int count) {
    await().atMost(Duration.ofSeconds(5)).until(() -> published.size() >= count);
    return published.get(count - 1);
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void publishesListenersRoutesClustersAndEndpointsFromTheControlPlane(boolean delta) throws Exception {
    start(delta);
    setMesh("1", 1, 1);

    ProxySnapshot snapshot = awaitSnapshot(1);
    assertThat(snapshot.listeners()).singleElement().satisfies(l -> {
      assertThat(l.name()).isEqualTo("ingress");
      assertThat(l.http().routeConfig().name()).isEqualTo("local_route");
      var action = (RouteAction.Forward) l.http().routeConfig().virtualHosts().get(0).routes().get(0).action();
      assertThat(action.clusters()).extracting(RouteAction.WeightedCluster::name, RouteAction.WeightedCluster::weight)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("v1", 90), org.assertj.core.groups.Tuple.tuple("v2", 10));
    });
    assertThat(snapshot.cluster("v1").endpoints()).containsExactly(
        new EndpointConfig("127.0.0.1", 8081, 1), new EndpointConfig("127.0.0.1", 8082, 1));
    assertThat(snapshot.cluster("v2").endpoints()).containsExactly(new EndpointConfig("127.0.0.1", 9091, 1));
    assertThat(client.stats().connected()).isTrue();
    assertThat(client.stats().rejected(ResourceType.CLUSTER) + client.stats().rejected(ResourceType.ROUTE)).isZero();
    // Every request names this proxy, so the control plane can tell proxies apart.
    if (delta) {
      assertThat(controlPlane.deltaRequests).isNotEmpty().allSatisfy(r -> assertThat(r.getNode()).isEqualTo(NODE));
    } else {
      assertThat(controlPlane.requests).isNotEmpty().allSatisfy(r -> assertThat(r.getNode()).isEqualTo(NODE));
    }
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void publishesANewSnapshotWhenEndpointWeightsChange(boolean delta) throws Exception {
    start(delta);
    setMesh("1", 1, 1);
    awaitSnapshot(1);

    setMesh("2", 5, 3);

    await().atMost(Duration.ofSeconds(5)).until(() ->
        client.lastSnapshot().cluster("v1").endpoints().get(0).weight() == 5);
    ProxySnapshot latest = client.lastSnapshot();
    assertThat(latest.cluster("v1").endpoints()).containsExactly(
        new EndpointConfig("127.0.0.1", 8081, 5), new EndpointConfig("127.0.0.1", 8082, 1));
    assertThat(latest.cluster("v2").endpoints()).containsExactly(new EndpointConfig("127.0.0.1", 9091, 3));
    assertThat(latest.version()).contains("EDS=2");
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void nacksAnUnsupportedFieldWithTheTranslatorsMessageAndKeepsTheLastGoodSnapshot(boolean delta) throws Exception {
    start(delta);
    setMesh("1", 1, 1);
    ProxySnapshot good = awaitSnapshot(1);

    controlPlane.set(snapshot("2",
        List.of(healthCheckedCluster("v1"), edsCluster("v2")),
        List.of(endpoints("v1", 8081, 1, 8082, 1), endpoints("v2", 9091, 1)),
        List.of(listener(0)),
        List.of(route("v1", "90", "v2", "10"))));

    String expected = "xds: Cluster[v1].health_checks[0].custom_health_check: not supported by Keelson (only http, tcp and grpc health checks are supported)";
    await().atMost(Duration.ofSeconds(5)).until(() -> nackDetails(delta).stream().anyMatch(m -> m.startsWith(expected)));
    assertThat(client.stats().rejected(ResourceType.CLUSTER)).isPositive();
    assertThat(client.stats().lastError()).startsWith(expected);
    if (!delta) {
      // A NACK carries the version still in force, not the rejected one.
      assertThat(controlPlane.requests).filteredOn(r -> r.hasErrorDetail())
          .allSatisfy(r -> assertThat(r.getVersionInfo()).isEqualTo("1"));
    }
    assertThat(published).containsExactly(good);
    assertThat(client.lastSnapshot()).isSameAs(good);
    // java-control-plane answers a NACK by resending the same version; repeated NACKs are paced (50 ms here).
    int nacks = nackDetails(delta).size();
    await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> nackDetails(delta).size() <= nacks + 15);
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void nacksARouteToAMissingClusterAndRecoversOnTheNextGoodUpdate(boolean delta) throws Exception {
    start(delta);
    setMesh("1", 1, 1);
    ProxySnapshot good = awaitSnapshot(1);

    controlPlane.set(snapshot("2",
        List.of(edsCluster("v1"), edsCluster("v2")),
        List.of(endpoints("v1", 8081, 1, 8082, 1), endpoints("v2", 9091, 1)),
        List.of(listener(0)),
        List.of(route("v1", "90", "missing", "10"))));

    String expected = "xds: RouteConfiguration[local_route].virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name: "
        + "route 'split' names cluster 'missing', which is not defined; expected one of [v1, v2]";
    await().atMost(Duration.ofSeconds(5)).until(() -> nackDetails(delta).contains(expected));
    assertThat(client.stats().rejected(ResourceType.ROUTE)).isPositive();
    assertThat(client.lastSnapshot()).isSameAs(good);

    setMesh("3", 4, 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> client.lastSnapshot().cluster("v1").endpoints().get(0).weight() == 4);
    assertThat(client.lastSnapshot().listeners()).singleElement()
        .satisfies(l -> assertThat(l.http().routeConfig().virtualHosts().get(0).routes()).hasSize(1));
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void keepsTheSnapshotWhileTheControlPlaneIsAwayThenResubscribesFromTheAcceptedVersions(boolean delta)
      throws Exception {
    start(delta);
    setMesh("1", 1, 1);
    ProxySnapshot good = awaitSnapshot(1);
    int port = controlPlane.port();

    controlPlane.stop();
    // Retries back off: with 50-400 ms delays, several attempts fail while the server is away.
    await().atMost(Duration.ofSeconds(5)).until(() -> client.stats().reconnects() >= 3);
    assertThat(client.stats().connected()).isFalse();
    assertThat(client.stats().lastError()).contains("lost");
    assertThat(client.lastSnapshot()).isSameAs(good);
    assertThat(published).containsExactly(good);

    controlPlane.requests.clear();
    controlPlane.deltaRequests.clear();
    controlPlane.startOn(port);
    if (delta) {
      await().atMost(Duration.ofSeconds(5)).until(() -> controlPlane.deltaRequests.stream().anyMatch(r ->
          r.getTypeUrl().equals(ResourceType.CLUSTER.typeUrl())
              && r.getInitialResourceVersionsMap().keySet().equals(java.util.Set.of("v1", "v2"))));
    } else {
      await().atMost(Duration.ofSeconds(5)).until(() -> controlPlane.requests.stream().anyMatch(r ->
          r.getTypeUrl().equals(ResourceType.CLUSTER.typeUrl()) && r.getVersionInfo().equals("1")));
      assertThat(controlPlane.requests).filteredOn(r -> r.getTypeUrl().equals(ResourceType.ENDPOINT.typeUrl()))
          .first().satisfies(r -> {
            assertThat(r.getVersionInfo()).isEqualTo("1");
            assertThat(r.getResourceNamesList()).containsExactly("v1", "v2");
          });
    }

    setMesh("2", 7, 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> client.lastSnapshot().cluster("v1").endpoints().get(0).weight() == 7);
    assertThat(client.stats().connected()).isTrue();
  }

  private List<String> nackDetails(boolean delta) {
    if (delta) {
      return controlPlane.deltaRequests.stream().filter(r -> r.hasErrorDetail())
          .map(r -> r.getErrorDetail().getMessage()).toList();
    }
    return controlPlane.requests.stream().filter(r -> r.hasErrorDetail())
        .map(r -> r.getErrorDetail().getMessage()).toList();
  }
}
