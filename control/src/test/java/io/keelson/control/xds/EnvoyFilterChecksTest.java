package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
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
  private static final String CLUSTER = """
      apiVersion: networking.istio.io/v1alpha3
      kind: EnvoyFilter
      metadata: { name: a-cluster, namespace: istio-system }
      spec:
        workloadSelector: { labels: { version: v2 } }
        configPatches:
        - applyTo: CLUSTER
          patch:
            operation: ADD
            value:
              name: rate_limit_cluster
              type: STATIC
              connect_timeout: 1s
              http2_protocol_options: {}
              load_assignment:
                cluster_name: rate_limit_cluster
                endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } } } ] } ]
      """;

  /** An HTTP rate limit filter before the router of every outbound connection manager, with {@code timeout}. */
  private static String rateLimit(String timeout) {
    return """
        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: { name: b-ratelimit, namespace: istio-system }
        spec:
          workloadSelector: { labels: { version: v2 } }
          configPatches:
          - applyTo: HTTP_FILTER
            match:
              context: SIDECAR_OUTBOUND
              listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager, subFilter: { name: envoy.filters.http.router } } } }
            patch:
              operation: INSERT_BEFORE
              value:
                name: envoy.filters.http.ratelimit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
                  domain: ratelimit
                  timeout: %s
                  rate_limit_service:
                    grpc_service: { envoy_grpc: { cluster_name: rate_limit_cluster } }
                    transport_api_version: V3
        """.formatted(timeout);
  }

  /** A network RBAC filter in front of the outbound connection manager: Keelson's data plane refuses it there. */
  private static final String REFUSED = """
      apiVersion: networking.istio.io/v1alpha3
      kind: EnvoyFilter
      metadata: { name: b-ratelimit, namespace: istio-system }
      spec:
        workloadSelector: { labels: { version: v2 } }
        configPatches:
        - applyTo: NETWORK_FILTER
          match: { context: SIDECAR_OUTBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
          patch:
            operation: INSERT_FIRST
            value:
              name: envoy.filters.network.rbac
              typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC, stat_prefix: x }
      """;

  private static List<Policy> parse(String yaml) throws Exception {
    return PolicyParser.parse("ef.yaml", yaml).policies();
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

        List<Policy> both = new ArrayList<>(parse(CLUSTER));
        both.addAll(parse(rateLimit("2s")));
        store.apply(both, false);
        // per shape: the unpatched resources, then after a-cluster, then after b-ratelimit
        assertThat(xds.envoyFilterTranslations()).isEqualTo(2 * 3);
        assertThat(xds.status()).filteredOn(s -> nodes.contains(s.nodeId())).hasSize(nodes.size())
            .allSatisfy(s -> assertThat(s.envoyFilters())
                .containsExactly("EnvoyFilter/istio-system/a-cluster", "EnvoyFilter/istio-system/b-ratelimit"));
        assertThat(xds.envoyFilterTranslations()).as("status reads the verdicts, runs no check").isEqualTo(6);
        assertThat(xds.resourcesFor("product-v2-0")).as("one patched copy per shape")
            .isSameAs(xds.resourcesFor("product-v2-19"));

        store.apply(parse(rateLimit("3s")), false);
        assertThat(xds.envoyFilterTranslations()).as("only b-ratelimit's step, once per shape").isEqualTo(6 + 2);

        store.apply(parse(REFUSED), false);
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
    List<Policy.EnvoyFilter> filters = new ArrayList<>();
    for (String yaml : List.of(CLUSTER, rateLimit("2s"))) {
      filters.add((Policy.EnvoyFilter) parse(yaml).getFirst());
    }
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
