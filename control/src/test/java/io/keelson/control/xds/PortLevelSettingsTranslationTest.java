package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's {@code portLevelSettings} and its subsets' own policies ({@code connectionPool},
 * {@code outlierDetection}, {@code tls}, and their port-level settings) in the clusters of a ServiceEntry host, merged
 * as istiod's {@code mergeTrafficPolicy} (subset port-level over subset over rule port-level over rule; a port-level
 * entry replaces all four policies, inheriting none); the errors naming the field; {@code explain} showing each
 * cluster's policy.
 */
class PortLevelSettingsTranslationTest {
  private static final String ENTRY = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [ api.example.com ]
        resolution: STATIC
        ports:
        - { number: 80, name: http, protocol: HTTP }
        - { number: 8080, name: admin, protocol: HTTP }
        endpoints:
        - { address: 10.0.0.1, labels: { version: v1 } }
        - { address: 10.0.0.2, labels: { version: v2 } }
      ---
      """;

  private static final String RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: api }
      spec:
        host: api.example.com
        trafficPolicy:
          loadBalancer: { simple: LEAST_REQUEST }
          connectionPool: { tcp: { maxConnections: 7 } }
          portLevelSettings:
          - port: { number: 8080 }
            loadBalancer: { consistentHash: { httpHeaderName: x-user } }
            outlierDetection: { consecutive5xxErrors: 2, baseEjectionTime: 30s }
        subsets:
        - name: v1
          labels: { version: v1 }
          trafficPolicy:
            connectionPool: { tcp: { maxConnections: 3 } }
            tls: { mode: SIMPLE, sni: v1.api.example.com }
        - name: v2
          labels: { version: v2 }
          trafficPolicy:
            portLevelSettings:
            - port: { number: 8080 }
              connectionPool: { tcp: { maxConnections: 9 } }
      """;

  private static MeshResources translate(String yaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("entries.yaml", yaml).policies(), false);
    return new MeshTranslator(15001, false).translate(store.current(), List.of());
  }

  private static Integer maxConnections(Cluster c) {
    int v = c.getCircuitBreakers().getThresholds(0).getMaxConnections().getValue();
    return v == ResilienceBuilder.UNLIMITED ? null : v;
  }

  private static Integer consecutive5xx(Cluster c) {
    return c.hasOutlierDetection() ? c.getOutlierDetection().getConsecutive5Xx().getValue() : null;
  }

  @Test
  void eachPortsClustersGetTheirPortLevelPolicyMergedAsIstiodDoes() throws Exception {
    MeshResources r = translate(ENTRY + RULE);

    // The rule's policy on port 80.
    Cluster p80 = Mesh.cluster(r, "outbound|80||api.example.com");
    assertThat(p80.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(maxConnections(p80)).isEqualTo(7);
    assertThat(consecutive5xx(p80)).isNull();
    // Port 8080's entry replaces all four: its hash and outlier detection, and no connection limit (not inherited).
    Cluster p8080 = Mesh.cluster(r, "outbound|8080||api.example.com");
    assertThat(p8080.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    assertThat(maxConnections(p8080)).isNull();
    assertThat(consecutive5xx(p8080)).isEqualTo(2);
    assertThat(p8080.getOutlierDetection().getBaseEjectionTime().getSeconds()).isEqualTo(30);
    // Subset v1's connection pool and TLS over the rule's (port 80) and over port 8080's entry.
    Cluster v1p80 = Mesh.cluster(r, "outbound|80|v1|api.example.com");
    assertThat(v1p80.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(maxConnections(v1p80)).isEqualTo(3);
    assertThat(v1p80.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    Cluster v1p8080 = Mesh.cluster(r, "outbound|8080|v1|api.example.com");
    assertThat(v1p8080.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    assertThat(maxConnections(v1p8080)).isEqualTo(3);
    assertThat(consecutive5xx(v1p8080)).isEqualTo(2);
    assertThat(v1p8080.hasTransportSocket()).isTrue();
    assertThat(p80.hasTransportSocket()).as("the subset's tls is the subset's only").isFalse();
    // Subset v2's own port-level entry for 8080 replaces everything there: only its limit.
    Cluster v2p8080 = Mesh.cluster(r, "outbound|8080|v2|api.example.com");
    assertThat(v2p8080.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
    assertThat(maxConnections(v2p8080)).isEqualTo(9);
    assertThat(consecutive5xx(v2p8080)).isNull();
    Cluster v2p80 = Mesh.cluster(r, "outbound|80|v2|api.example.com");
    assertThat(maxConnections(v2p80)).isEqualTo(7);

    // Routes to port 8080 hash on the port's key; port 80's do not hash.
    var outbound = r.routes().stream().filter(c -> c.getName().equals(MeshTranslator.OUTBOUND)).findFirst().orElseThrow();
    var vh8080 = outbound.getVirtualHostsList().stream().filter(v -> v.getName().equals("api.example.com:8080"))
        .findFirst().orElseThrow();
    assertThat(vh8080.getRoutes(0).getRoute().getHashPolicy(0).getHeader().getHeaderName()).isEqualTo("x-user");
    var vh80 = outbound.getVirtualHostsList().stream().filter(v -> v.getName().equals("api.example.com:80"))
        .findFirst().orElseThrow();
    assertThat(vh80.getRoutes(0).getRoute().getHashPolicyList()).isEmpty();

    // The data plane takes the clusters.
    assertThat(Mesh.dataPlane(r)).isNotNull();

    // explain shows the port's policy on the cluster a request picks.
    @SuppressWarnings("unchecked")
    var clusters = (List<Map<String, Object>>) io.keelson.control.api.ExplainerAccess.explain(r, "frontend",
        "api.example.com:8080", "/x", Map.of(), "GET").get("clusters");
    assertThat(clusters.getFirst()).containsEntry("cluster", "outbound|8080||api.example.com")
        .containsEntry("lbPolicy", "RING_HASH")
        .containsEntry("policy", Map.of("outlierDetection", Map.of("consecutive5xxErrors", 2, "baseEjectionTime", "30s")));
  }

  @Test
  void portLevelSettingsAreCheckedByFieldPath() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            tunnel: { protocol: CONNECT, targetHost: x, targetPort: 1 }
            portLevelSettings:
            - loadBalancer: { simple: RANDOM }
            - port: {}
              loadBalancer: { simple: RANDOM }
            - port: { number: 80 }
            - port: { number: 81 }
              loadBalancer: { simple: RANDOM, localityLbSetting: { enabled: false } }
            - port: { number: 81 }
              tls: { mode: DISABLE }
              portLevelSettings: []
        """)).containsExactlyInAnyOrder(
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tunnel: tunnels are not supported yet",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.portLevelSettings[0].port: is required",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.portLevelSettings[1].port.number: is required; expected the"
            + " service port (1-65535) this policy applies to",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.portLevelSettings[2]: sets no policy; expected at least one"
            + " of loadBalancer, connectionPool, outlierDetection, tls",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.portLevelSettings[3].loadBalancer.localityLbSetting: is not"
            + " supported in portLevelSettings yet; set it on the DestinationRule's trafficPolicy",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.portLevelSettings[4].portLevelSettings: unknown field;"
            + " expected one of connectionPool, loadBalancer, outlierDetection, port, tls",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.portLevelSettings[4].port.number: port 81 already has an"
            + " entry in portLevelSettings; expected one per port");
  }

  @Test
  void portLevelSettingsNeedAServiceEntryHostAndOneOfItsPorts() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("entries.yaml", ENTRY + """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: cart }
        spec:
          ports: [ { name: http, port: 80 }, { name: grpc, port: 9090 } ]
        """).policies(), false);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: cart }
        spec:
          host: cart
          trafficPolicy:
            portLevelSettings: [ { port: { number: 9090 }, connectionPool: { tcp: { maxConnections: 1 } } } ]
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy: { tls: { mode: SIMPLE } }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            portLevelSettings: [ { port: { number: 81 }, connectionPool: { tcp: { maxConnections: 1 } } } ]
        """).policies(), false)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.trafficPolicy.portLevelSettings[0]: 'cart' is a registry Service, which has one"
            + " cluster for all its ports; port-level settings apply to ServiceEntry hosts only (yet)")
        .hasMessageContaining("spec.subsets[0].trafficPolicy.tls.mode: 'cart' is a registry Service, reached with"
            + " mesh mTLS; of the TLS modes it takes ISTIO_MUTUAL (with sni, subjectAltNames) only (yet)")
        .hasMessageContaining("spec.trafficPolicy.portLevelSettings[0].port.number: port 81 is not a port of"
            + " ServiceEntry/api; expected one of [80, 8080]");
  }

  @Test
  void aRegistrySubsetsOwnConnectionPoolAndOutlierDetectionApplyToItsCluster() throws Exception {
    MeshResources r = Mesh.translateWithRegistry("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product-service }
        spec:
          host: product-service
          trafficPolicy: { connectionPool: { tcp: { maxConnections: 5 } } }
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy:
              connectionPool: { tcp: { maxConnections: 2 } }
              outlierDetection: { consecutive5xxErrors: 3 }
          - name: v2
            labels: { version: v2 }
        """);
    assertThat(maxConnections(Mesh.cluster(r, "product-service"))).isEqualTo(5);
    assertThat(consecutive5xx(Mesh.cluster(r, "product-service"))).isNull();
    assertThat(maxConnections(Mesh.cluster(r, "product-service|v1"))).isEqualTo(2);
    assertThat(consecutive5xx(Mesh.cluster(r, "product-service|v1"))).isEqualTo(3);
    assertThat(maxConnections(Mesh.cluster(r, "product-service|v2"))).isEqualTo(5);
  }

  private static List<String> errors(String yaml) {
    try {
      PolicyParser.parse("bad.yaml", yaml);
      throw new AssertionError("no errors");
    } catch (PolicyException e) {
      return e.errors().stream().map(Object::toString).toList();
    }
  }
}
