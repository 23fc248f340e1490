package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.MeshResources;
import io.keelson.control.xds.MeshTranslator;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The policy examples under examples/mesh apply cleanly as one set, and the data plane accepts what they become. */
class MeshExamplesTest {
  @Test
  @SuppressWarnings("unchecked")
  void meshExamplesApplyWithoutWarningsAndTranslateToResourcesTheProxyAccepts() throws Exception {
    List<Policy> all = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of("..", "examples", "mesh"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        PolicyParser.Parsed parsed = PolicyParser.parse(f.toString(), Files.readString(f));
        assertThat(parsed.warnings()).as(f.toString()).isEmpty();
        all.addAll(parsed.policies());
      }
    }
    PolicyStore store = new PolicyStore();
    store.apply(all, false);
    assertThat(store.current().all()).hasSize(8);

    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    List<VirtualHost> hosts = r.routes().getFirst().getVirtualHostsList();
    assertThat(hosts).extracting(VirtualHost::getName).containsExactly("product-service", "reviews");
    assertThat(hosts.get(1).getDomainsList()).containsExactly("reviews", "reviews:9080", "reviews.default",
        "reviews.default:9080", "reviews.default.svc", "reviews.default.svc:9080", "reviews.default.svc.cluster.local",
        "reviews.default.svc.cluster.local:9080");
    Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = new LinkedHashMap<>();
    r.routes().forEach(rc -> routes.put(rc.getName(), rc));
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints = new LinkedHashMap<>();
    r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    ProxySnapshot snapshot = XdsSnapshotTranslator.translate("test", io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap
        .StaticResources.getDefaultInstance(), r.listeners(), routes, r.clusters(), endpoints);
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(snapshot.listeners()).hasSize(1);

    var explain = io.keelson.control.api.ExplainerAccess.explain(r, "frontend", "reviews:9080", "/api/items", Map.of(), "GET");
    assertThat(explain.get("route")).isEqualTo("HTTPRoute/reviews/reviews-1");
    assertThat((List<Object>) explain.get("why")).contains("the matched path prefix is rewritten to '/v1/api'",
        "request timeout 2.000 s", "request header x-route: reviews-api (OVERWRITE_IF_EXISTS_OR_ADD)");
  }
}
