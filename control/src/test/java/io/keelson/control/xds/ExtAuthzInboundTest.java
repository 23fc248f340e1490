package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.security.ExtensionProviders;
import io.keelson.control.store.PolicySet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * CUSTOM AuthorizationPolicies in a sidecar's inbound listener (today's {@code inbound} and a captured sidecar's
 * {@code virtualInbound}): after JWT, the shadow RBAC and ext_authz before the DENY RBAC, and the provider's cluster —
 * only for the workloads the policy selects.
 */
class ExtAuthzInboundTest {
  @Test
  void selectedWorkloadsGetTheShadowRbacExtAuthzAndTheProviderCluster() throws Exception {
    PolicySet state = PolicySet.EMPTY.with(PolicyParser.parse("mesh.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: authz }
        spec: { ports: [ { name: grpc, port: 9000, protocol: GRPC } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: authz-1 }
        spec: { service: authz, address: 10.0.0.9, port: 9000 }
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: ext, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          action: CUSTOM
          provider: { name: authz-grpc }
          rules: [ { to: [ { operation: { paths: [ "/admin/*" ] } } ] } ]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: no-delete, namespace: shop }
        spec:
          action: DENY
          rules: [ { to: [ { operation: { methods: [ DELETE ] } } ] } ]
        """).policies());
    ExtensionProviders providers = ExtensionProviders.parse("mesh.yaml", """
        extensionProviders:
        - name: authz-grpc
          envoyExtAuthzGrpc: { service: authz, port: 9000 }
        """);
    ExtAuthzClusters ext = ExtAuthzClusters.of(providers, state, state.ofType(Policy.Workload.class));
    String spiffe = "spiffe://cluster.local/ns/shop/sa/reviews";
    Map<String, String> labels = Map.of("app", "reviews");
    MeshTranslator.Self plain = new MeshTranslator.Self(spiffe, 15006, 9080, labels);
    MeshTranslator.Self captured = new MeshTranslator.Self(spiffe, 15006, 9080, labels, false,
        new NodeRegistration.Capture("10.1.0.7", 9080, 15006, 15001));
    List<Policy.Workload> none = List.of();
    MeshResources today = MeshTranslator.withInbound(new MeshTranslator(15001, false)
        .translateShared(state, none, Map.of(), true), state, plain, ext);
    MeshResources virtual = MeshTranslator.withInbound(new MeshTranslator(15001, false, true)
        .translateShared(state, none, Map.of(), true), state, captured, ext);
    for (var r : List.of(today, virtual)) {
      Cluster c = r.clusters().stream().filter(x -> x.getName().equals("ext-authz|authz-grpc")).findFirst().orElseThrow();
      assertThat(c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress()
          .getAddress()).isEqualTo("10.0.0.9");
      assertThat(c.getTypedExtensionProtocolOptionsMap()).isNotEmpty(); // gRPC: HTTP/2 upstream
    }
    FilterChain chain = CapturedTranslationTest.listener(today, "inbound").getFilterChains(0);
    assertThat(CapturedTranslationTest.hcm(chain).getHttpFiltersList()).extracting(f -> f.getName()).containsExactly(
        "envoy.filters.http.rbac.ext_authz", "envoy.filters.http.ext_authz", "envoy.filters.http.rbac",
        "envoy.filters.http.router");
    FilterChain app = CapturedTranslationTest.listener(virtual, "virtualInbound").getFilterChainsList().stream()
        .filter(c -> c.getFilterChainMatch().hasDestinationPort()).findFirst().orElseThrow();
    assertThat(CapturedTranslationTest.hcm(app).getHttpFiltersList()).extracting(f -> f.getName())
        .startsWith("envoy.filters.http.rbac.ext_authz", "envoy.filters.http.ext_authz");
    // Another workload: neither the filters nor the cluster.
    MeshResources other = MeshTranslator.withInbound(new MeshTranslator(15001, false)
        .translateShared(state, none, Map.of(), true), state,
        new MeshTranslator.Self("spiffe://cluster.local/ns/shop/sa/web", 15006, 9080, Map.of("app", "web")), ext);
    assertThat(other.clusters()).extracting(Cluster::getName).doesNotContain("ext-authz|authz-grpc");
    assertThat(CapturedTranslationTest.hcm(CapturedTranslationTest.listener(other, "inbound").getFilterChains(0))
        .getHttpFiltersList()).extracting(f -> f.getName()).doesNotContain("envoy.filters.http.ext_authz");
  }
}
