package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule {@code tls: {mode: ISTIO_MUTUAL, sni, subjectAltNames}} on a registry Service, as istiod's
 * {@code buildUpstreamTLSSettings}: the rule's {@code sni} in the cluster's UpstreamTlsContext, its
 * {@code subjectAltNames} in place of the workloads' SPIFFE IDs (a subset's over the rule's); a caller without an
 * identity gets no endpoints; other modes are still refused on registry Services.
 */
class RegistryIstioMutualTranslationTest {
  private static final String REGISTRY = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      { apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: reviews-1 },
        spec: { service: reviews, address: 127.0.0.1, port: 1, labels: { version: v1 } } }
      """;
  private static final String RULE = """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews }
      spec:
        host: reviews
        trafficPolicy:
          tls:
            mode: ISTIO_MUTUAL
            sni: reviews.mesh.internal
            subjectAltNames: [ "spiffe://example.org/ns/default/sa/reviews-v2" ]
        subsets:
        - name: v1
          labels: { version: v1 }
          trafficPolicy: { tls: { mode: ISTIO_MUTUAL, subjectAltNames: [ "spiffe://example.org/ns/default/sa/v1" ] } }
      """;
  private static final Map<String, MeshTranslator.Self> IDENTITIES = Map.of(
      "reviews-1", new MeshTranslator.Self("spiffe://example.org/ns/default/sa/reviews", 0, 0, Map.of()),
      "web", new MeshTranslator.Self("spiffe://example.org/ns/default/sa/web", 0, 0, Map.of()));

  private static PolicySet state(String yaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store.current();
  }

  private static MeshResources translate(PolicySet state, boolean withIdentity) {
    return new MeshTranslator(15001, false, false, OutboundTrafficPolicy.ALLOW_ANY, java.time.Duration.ZERO,
        "example.org").translateShared(state, List.of(), withIdentity ? IDENTITIES : Map.of(), withIdentity);
  }

  private static UpstreamTlsContext tls(MeshResources r, String cluster) throws Exception {
    Cluster c = Mesh.cluster(r, cluster);
    return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
  }

  private static List<String> sans(UpstreamTlsContext u) {
    return u.getCommonTlsContext().getCombinedValidationContext().getDefaultValidationContext()
        .getMatchTypedSubjectAltNamesList().stream().map(m -> m.getMatcher().getExact()).toList();
  }

  @Test
  void theRulesSniAndSubjectAltNamesReplaceTheWorkloadsIdentities() throws Exception {
    MeshResources before = translate(state(REGISTRY), true);
    assertThat(tls(before, "reviews").getSni()).isEmpty();
    assertThat(sans(tls(before, "reviews"))).containsExactly("spiffe://example.org/ns/default/sa/reviews");

    MeshResources r = translate(state(REGISTRY + RULE), true);
    assertThat(tls(r, "reviews").getSni()).isEqualTo("reviews.mesh.internal");
    assertThat(sans(tls(r, "reviews"))).containsExactly("spiffe://example.org/ns/default/sa/reviews-v2");
    // the subset's tls replaces the rule's whole (Istio's merge): its SANs, no sni
    assertThat(tls(r, "reviews|v1").getSni()).isEmpty();
    assertThat(sans(tls(r, "reviews|v1"))).containsExactly("spiffe://example.org/ns/default/sa/v1");
    // the data plane takes them
    var config = Mesh.dataPlaneWithIdentity(r, "default", "web").clusters().get("reviews").tls().config();
    assertThat(config.sni()).isEqualTo("reviews.mesh.internal");
    assertThat(config.serverSans().toString()).contains("sa/reviews-v2");
  }

  @Test
  void aCallerWithoutIdentityGetsNoEndpointsAndAStatusWarning() throws Exception {
    PolicySet state = state(REGISTRY + RULE);
    MeshResources r = translate(state, false);
    assertThat(r.endpoints()).filteredOn(e -> e.getClusterName().startsWith("reviews"))
        .allSatisfy(e -> assertThat(e.getEndpointsList()).isEmpty()).hasSize(2);
    assertThat(Mesh.cluster(r, "reviews").hasTransportSocket()).isFalse();
    assertThat(ServiceEntryTranslator.istioMutualWithoutIdentity(state)).hasSize(2).first().asString()
        .contains("cluster reviews has no endpoints", "DestinationRule/reviews", "ISTIO_MUTUAL");
    assertThat(translate(state(REGISTRY), false).endpoints()).filteredOn(e -> e.getClusterName().equals("reviews"))
        .singleElement().satisfies(e -> assertThat(e.getEndpointsList()).isNotEmpty());
  }

  @Test
  void otherModesOnARegistryServiceAreRefusedAtTheMode() {
    assertThatThrownBy(() -> state(REGISTRY + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec: { host: reviews, trafficPolicy: { tls: { mode: DISABLE } } }
        """)).isInstanceOf(PolicyException.class).hasMessageContaining("mesh.yaml: DestinationRule/reviews:"
        + " spec.trafficPolicy.tls.mode: 'reviews' is a registry Service, reached with mesh mTLS; of the TLS modes it"
        + " takes ISTIO_MUTUAL (with sni, subjectAltNames) only (yet)");
  }
}
