package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a captured sidecar's tcp_proxy takes from its destinations' DestinationRules ({@link StreamDestinations}):
 * {@code connectionPool.tcp.idleTimeout} as idle_timeout (a subset's own, the longest of weighted destinations, none
 * set without a rule's), {@code consistentHash.useSourceIp} as hash_policy source_ip.
 */
class StreamDestinationsTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec: { ports: [ { name: tcp-sql, port: 5432, protocol: TCP } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: cache }
      spec: { ports: [ { name: tcp, port: 6379, protocol: TCP } ] }
      ---
      """;

  private static TcpProxy tcpProxy(String yaml, String listener) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", SERVICES + yaml).policies(), false);
    MeshResources r = new MeshTranslator(15001, false, true).translate(store.current(), List.of());
    Listener l = r.listeners().stream().filter(x -> x.getName().equals(listener)).findFirst().orElseThrow();
    assertThat(Mesh.dataPlane(r)).as("the data plane takes it").isNotNull();
    return l.getFilterChains(0).getFiltersList().getLast().getTypedConfig().unpack(TcpProxy.class);
  }

  @Test
  void tcpIdleTimeoutIsTheTcpProxysIdleTimeout() throws Exception {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: db }
        spec:
          host: db
          trafficPolicy: { connectionPool: { tcp: { idleTimeout: 90s } } }
          subsets:
          - { name: v1, labels: { version: v1 }, trafficPolicy: { connectionPool: { tcp: { idleTimeout: 0s } } } }
          - { name: v2, labels: { version: v2 } }
        """;
    assertThat(tcpProxy(rule, "0.0.0.0_5432").getIdleTimeout().getSeconds()).isEqualTo(90);
    assertThat(tcpProxy("", "0.0.0.0_5432").hasIdleTimeout()).as("no rule: the default (1h)").isFalse();
    assertThat(tcpProxy(rule, "0.0.0.0_6379").hasIdleTimeout()).as("another service's").isFalse();

    String split = rule + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - route:
            - { destination: { host: db, subset: v2 }, weight: 50 }
            - { destination: { host: cache }, weight: 50 }
        """;
    // v2: the rule's 90s; cache: no rule, 1h. The longest wins.
    assertThat(tcpProxy(split, "0.0.0.0_5432").getIdleTimeout().getSeconds()).isEqualTo(3600);
    // A subset's 0s (never) outlasts everything.
    assertThat(tcpProxy(split.replace("subset: v2", "subset: v1"), "0.0.0.0_5432").getIdleTimeout().getSeconds())
        .isZero();
  }

  @Test
  void tcpIdleTimeoutMustBeADuration() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: db }
        spec:
          host: db
          trafficPolicy: { connectionPool: { tcp: { idleTimeout: soon } } }
        """)).hasMessageContaining("spec.trafficPolicy.connectionPool.tcp.idleTimeout");
  }

  @Test
  void useSourceIpIsTheTcpProxysSourceIpHashOverARingHashCluster() throws Exception {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: db }
        spec:
          host: db
          trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } }
        """;
    TcpProxy db = tcpProxy(rule, "0.0.0.0_5432");
    assertThat(db.getHashPolicyList()).singleElement().satisfies(h -> assertThat(h.hasSourceIp()).isTrue());
    assertThat(tcpProxy(rule.replace("useSourceIp: true", "httpHeaderName: x-user"), "0.0.0.0_5432")
        .getHashPolicyList()).as("an HTTP key hashes nothing on a byte stream").isEmpty();
    assertThat(tcpProxy("", "0.0.0.0_5432").getHashPolicyList()).isEmpty();
  }
}
