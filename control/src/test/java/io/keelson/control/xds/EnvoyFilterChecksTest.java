package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.xds.XdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The data plane's checks of EnvoyFilter-patched resources are run once per distinct shape (unpatched resources and
 * selected EnvoyFilters), not once per proxy, and a change to one EnvoyFilter re-checks only what it affects.
 */
class EnvoyFilterChecksTest {
  private static final String V2 = "workloadSelector: { labels: { version: v2 } }\n";
  private static final String ROUTER = "envoy.filters.http.router";

  /** The rate limit service's cluster, for the sidecars of version v2, from the root namespace. */
  private static Policy.EnvoyFilter cluster() throws Exception {
    return EnvoyFilterPatchesTest.filter("a-cluster", "istio-system", V2 + EnvoyFilterPatchesTest.RATE_LIMIT_CLUSTER);
  }

  /** An HTTP rate limit filter (with {@code timeout}) before the router of every outbound connection manager. */
  private static Policy.EnvoyFilter rateLimit(String timeout) throws Exception {
    return EnvoyFilterPatchesTest.filter("b-ratelimit", "istio-system", V2
        + EnvoyFilterPatchesTest.insert("INSERT_BEFORE", "SIDECAR_OUTBOUND", ROUTER)
            .replace("timeout: 2s", "timeout: " + timeout));
  }

  @Test
  void twentySidecarsOfOneShapeShareOneCheckPerEnvoyFilterAndAChangeRechecksOnlyWhatItAffects() throws Exception {
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, 8081, 8082);
    List<String> nodes = new ArrayList<>(IntStream.range(0, 20).mapToObj(i -> "product-v2-" + i).toList());
    nodes.add("plain-v2"); // another shape: no identity, so no inbound listener of its own
    List<XdsClient> clients = new ArrayList<>();
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0)) {
      try {
        for (String node : nodes) {
          clients.add(XdsServerTest.client(xds, false, XdsServerTest.sidecar(node,
              node.equals("plain-v2") ? null : "spiffe://cluster.local/ns/shop/sa/product")));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> xds.registeredWorkloads().keySet().containsAll(nodes)
            && xds.status().size() >= nodes.size());
        assertThat(xds.envoyFilterTranslations()).as("no EnvoyFilter, no check").isZero();

        store.apply(List.of(cluster(), rateLimit("2s")), false);
        // per shape: the unpatched resources, then after a-cluster, then after b-ratelimit
        assertThat(xds.envoyFilterTranslations()).isEqualTo(2 * 3);
        assertThat(xds.status()).filteredOn(s -> nodes.contains(s.nodeId())).hasSize(nodes.size())
            .allSatisfy(s -> assertThat(s.envoyFilters())
                .containsExactly("EnvoyFilter/istio-system/a-cluster", "EnvoyFilter/istio-system/b-ratelimit"));
        assertThat(xds.envoyFilterTranslations()).as("status reads the verdicts, runs no check").isEqualTo(6);
        assertThat(xds.resourcesFor("product-v2-0")).as("one patched copy per shape")
            .isSameAs(xds.resourcesFor("product-v2-19"));

        store.apply(List.of(rateLimit("3s")), false);
        assertThat(xds.envoyFilterTranslations()).as("only b-ratelimit's step, once per shape").isEqualTo(6 + 2);

        store.apply(List.of(EnvoyFilterPatchesTest.filter("b-ratelimit", "istio-system", V2
            + EnvoyFilterPatchesTest.OUTBOUND_NETWORK_RBAC)), false);
        assertThat(xds.envoyFilterTranslations()).isEqualTo(8 + 2);
        assertThat(xds.status()).filteredOn(s -> nodes.contains(s.nodeId())).hasSize(nodes.size()).allSatisfy(s -> {
          assertThat(s.envoyFilters()).containsExactly("EnvoyFilter/istio-system/a-cluster");
          assertThat(s.warnings()).anySatisfy(w -> assertThat(w).startsWith("EnvoyFilter/istio-system/b-ratelimit is"
              + " not applied: Keelson's data plane would refuse the patched resources: ").contains("tcp_proxy only"));
        });
        assertThat(xds.envoyFilterTranslations()).isEqualTo(10);
      } finally {
        for (XdsClient c : clients) {
          c.close();
        }
      }
    }
  }

  @Test
  void verdictsNotUsedSinceTheLastSweepAreDropped() throws Exception {
    MeshResources r = Mesh.translateWithRegistry("");
    List<Policy.EnvoyFilter> filters = List.of(cluster(), rateLimit("2s"));
    EnvoyFilterChecks checks = new EnvoyFilterChecks();
    EnvoyFilterPatches.Patched first = checks.apply(r, filters, false);
    assertThat(first.applied()).hasSize(2);
    assertThat(checks.translations()).isEqualTo(3);
    checks.sweep(); // used in this round: kept
    assertThat(checks.apply(r, filters, false)).isEqualTo(first);
    assertThat(checks.translations()).isEqualTo(3);
    checks.sweep();
    checks.sweep(); // a round without it: dropped
    assertThat(checks.apply(r, filters, false)).isEqualTo(first);
    assertThat(checks.translations()).isEqualTo(6);
    assertThat(checks.apply(r, filters, true).applied()).as("a gateway's verdicts are its own, its checks shared")
        .hasSize(2);
  }
}
