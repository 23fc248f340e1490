package io.keelson.control.xds;

import static io.keelson.control.xds.SourceMatchTranslationTest.client;
import static io.keelson.control.xds.SourceMatchTranslationTest.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A sidecar is an endpoint of its own namespace's Service only (a pod is never an endpoint of another namespace's
 * Service): a sidecar of namespace shop registering {@code --service reviews} while only namespace default has a
 * {@code reviews} serves nothing, is never in default's endpoints or SAN set, and joins shop's {@code reviews} as soon
 * as one is applied. Real xDS server, data-plane xDS clients.
 */
class SidecarRegistrationNamespaceTest {
  private static final String DEFAULT_REVIEWS = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 9080 } ] }
      """;

  @Test
  void aSidecarOfAnotherNamespaceNeverJoinsDefaultsServiceOfItsName() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", DEFAULT_REVIEWS).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient own = client(xds, node("reviews-default", "127.0.0.21", "spiffe://cluster.local/ns/default/sa/reviews"));
        XdsClient intruder = client(xds, node("reviews-shop", "127.0.0.22", "spiffe://cluster.local/ns/shop/sa/reviews"));
        XdsClient caller = client(xds, node("caller", "127.0.0.23", "spiffe://cluster.local/ns/default/sa/web"))) {
      await().atMost(Duration.ofSeconds(20)).until(() -> xds.registeredWorkloads().size() == 3
          && xds.resourcesFor("caller") != null && endpoints(xds, "caller", "reviews").contains("127.0.0.21"));
      assertThat(xds.registeredWorkloads().get("reviews-shop").service())
          .as("registered to its own namespace's key, which names no Service yet").isEqualTo("reviews.shop");
      assertThat(xds.registeredWorkloads().get("reviews-default").service()).isEqualTo("reviews");
      assertThat(endpoints(xds, "caller", "reviews")).containsExactly("127.0.0.21");
      String sans = cluster(xds, "caller", "reviews").getTransportSocket().toString();
      assertThat(sans).contains("spiffe://cluster.local/ns/default/sa/reviews")
          .doesNotContain("ns/shop");
      assertThat(xds.resourcesFor("caller").clusters()).extracting(Cluster::getName).doesNotContain("reviews.shop");

      // Namespace shop gets its reviews: the sidecar is its endpoint, default's still is not.
      store.apply(PolicyParser.parse("shop.yaml", DEFAULT_REVIEWS.replace("name: reviews }",
          "name: reviews, namespace: shop }")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> endpoints(xds, "caller", "reviews.shop").contains("127.0.0.22"));
      assertThat(endpoints(xds, "caller", "reviews.shop")).containsExactly("127.0.0.22");
      assertThat(endpoints(xds, "caller", "reviews")).containsExactly("127.0.0.21");
      assertThat(cluster(xds, "caller", "reviews.shop").getTransportSocket().toString())
          .contains("spiffe://cluster.local/ns/shop/sa/reviews");
      assertThat(cluster(xds, "caller", "reviews").getTransportSocket().toString()).doesNotContain("ns/shop");
    }
  }

  /**
   * A sidecar registering to a Service its namespace has not is a WARN when the namespace has other Services (a typo in
   * {@code --service}), an INFO while it has none yet (sidecars that start before their namespace's Services are
   * applied).
   */
  @Test
  void aSidecarOfANamespaceWithoutServicesYetIsLoggedAtInfoAndBesideOtherServicesAtWarn() throws Exception {
    PolicyStore store = new PolicyStore();
    assertThat(XdsServer.unregisteredServiceLevel(store.current(), "default")).isEqualTo(org.slf4j.event.Level.INFO);
    store.apply(PolicyParser.parse("mesh.yaml", DEFAULT_REVIEWS).policies(), false);
    assertThat(XdsServer.unregisteredServiceLevel(store.current(), "default")).isEqualTo(org.slf4j.event.Level.WARN);
    assertThat(XdsServer.unregisteredServiceLevel(store.current(), "shop")).as("default's Services are not shop's")
        .isEqualTo(org.slf4j.event.Level.INFO);
  }

  private static Cluster cluster(XdsServer xds, String node, String name) {
    return xds.resourcesFor(node).clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }

  private static List<String> endpoints(XdsServer xds, String node, String cluster) {
    return xds.resourcesFor(node).endpoints().stream().filter(a -> a.getClusterName().equals(cluster))
        .flatMap(a -> a.getEndpointsList().stream()).flatMap(l -> l.getLbEndpointsList().stream())
        .map(lb -> lb.getEndpoint().getAddress().getSocketAddress().getAddress()).toList();
  }

  private static Node node(String id, String address, String spiffeId) {
    String service = id.startsWith("reviews") ? "reviews" : "web";
    Struct md = Struct.newBuilder()
        .putFields(NodeRegistration.SERVICE, str(service))
        .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(15006).build())
        .putFields(NodeRegistration.ADDRESS, str(address))
        .putFields(NodeRegistration.SPIFFE_ID, str(spiffeId))
        .build();
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }
}
