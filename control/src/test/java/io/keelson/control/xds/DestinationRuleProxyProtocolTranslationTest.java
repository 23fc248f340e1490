package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ProxyProtocolConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's {@code trafficPolicy.proxyProtocol} (the rule's and a subset's) on a TCP service's clusters, as
 * istiod builds it: the cluster's transport socket (raw_buffer, or mesh mTLS / TLS origination) wrapped in
 * envoy.transport_sockets.upstream_proxy_protocol; the data plane takes it. Refused (by field) for a host with HTTP
 * ports and in portLevelSettings (Istio's PortTrafficPolicy has no such field).
 */
class DestinationRuleProxyProtocolTranslationTest {
  private static final String DB = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: db-1 }
      spec: { service: db, address: 127.0.0.1, port: 15432, labels: { version: v1 } }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: db }
      spec:
        host: db
        trafficPolicy: { proxyProtocol: {} }
        subsets:
        - name: v1
          labels: { version: v1 }
          trafficPolicy: { proxyProtocol: { version: V2 } }
        - name: any
          labels: {}
      """;

  private static PolicySet state(String yaml) throws Exception {
    return PolicySet.EMPTY.with(PolicyParser.parse("db.yaml", yaml).policies());
  }

  private static ProxyProtocolUpstreamTransport wrapped(Cluster c) throws Exception {
    assertThat(c.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.upstream_proxy_protocol");
    return c.getTransportSocket().getTypedConfig().unpack(ProxyProtocolUpstreamTransport.class);
  }

  @Test
  void theRulesAndASubsetsVersionWrapRawBufferAndTheDataPlaneTakesIt() throws Exception {
    MeshResources r = new MeshTranslator(15001, false, true).translate(state(DB), List.of());
    ProxyProtocolUpstreamTransport host = wrapped(Mesh.cluster(r, "db"));
    assertThat(host.getConfig().getVersion()).as("Istio's default").isEqualTo(ProxyProtocolConfig.Version.V1);
    assertThat(host.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.raw_buffer");
    assertThat(wrapped(Mesh.cluster(r, "db|v1")).getConfig().getVersion()).isEqualTo(ProxyProtocolConfig.Version.V2);
    assertThat(wrapped(Mesh.cluster(r, "db|any")).getConfig().getVersion()).as("inherits the rule's")
        .isEqualTo(ProxyProtocolConfig.Version.V1);

    var plane = Mesh.dataPlane(r);
    assertThat(plane.warnings()).isEmpty();
    assertThat(plane.cluster("db").proxyProtocolVersion()).isEqualTo(1);
    assertThat(plane.cluster("db|v1").proxyProtocolVersion()).isEqualTo(2);
    assertThat(plane.cluster("db").tls()).isNull();
  }

  @Test
  void withMeshMtlsTheWrapGoesAroundTheTlsSocket() throws Exception {
    var self = new MeshTranslator.Self("spiffe://cluster.local/ns/default/sa/db", 15006, 15432, Map.of(), true);
    MeshResources r = new MeshTranslator(15001, false, true).translateShared(state(DB), List.of(),
        Map.of("db-1", self), true);
    ProxyProtocolUpstreamTransport host = wrapped(Mesh.cluster(r, "db"));
    assertThat(host.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    var plane = Mesh.dataPlaneWithIdentity(r, "default", "web");
    assertThat(plane.warnings()).isEmpty();
    assertThat(plane.cluster("db").proxyProtocolVersion()).isEqualTo(1);
    assertThat(plane.cluster("db").tls()).as("mesh mTLS inside the PROXY header").isNotNull();
  }

  @Test
  void aServiceEntryTcpPortWithTlsOriginationGetsTheWrapAroundTls() throws Exception {
    MeshResources r = new MeshTranslator(15001, false, true).translate(state("""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: pg }
        spec:
          hosts: [ pg.example.com ]
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
          resolution: STATIC
          endpoints: [ { address: 127.0.0.1 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: pg }
        spec:
          host: pg.example.com
          trafficPolicy: { proxyProtocol: { version: V2 }, tls: { mode: SIMPLE } }
        """), List.of());
    ProxyProtocolUpstreamTransport t = wrapped(Mesh.cluster(r, "outbound|5432||pg.example.com"));
    assertThat(t.getConfig().getVersion()).isEqualTo(ProxyProtocolConfig.Version.V2);
    assertThat(t.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    var plane = Mesh.dataPlane(r);
    assertThat(plane.warnings()).isEmpty();
    assertThat(plane.cluster("outbound|5432||pg.example.com").proxyProtocolVersion()).isEqualTo(2);
    assertThat(plane.cluster("outbound|5432||pg.example.com").tls()).isNotNull();
  }

  @Test
  void refusedForAHostWithHttpPortsAndInPortLevelSettingsByField() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("svc.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: cart }
        spec: { ports: [ { name: http, port: 80 }, { name: tcp, port: 9000, protocol: TCP } ] }
        """).policies(), false);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: cart }
        spec:
          host: cart
          subsets: [ { name: v1, labels: { v: "1" }, trafficPolicy: { proxyProtocol: { version: V2 } } } ]
        """).policies(), false)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.subsets[0].trafficPolicy.proxyProtocol: the PROXY protocol is supported on TCP"
            + " and TLS hosts only")
        .hasMessageContaining("'cart' has the HTTP ports [80 (HTTP)]");
    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: pg }
        spec:
          host: pg.example.com
          trafficPolicy:
            proxyProtocol: { version: V3 }
            portLevelSettings: [ { port: { number: 5432 }, proxyProtocol: {}, tls: { mode: SIMPLE } } ]
        """)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("proxyProtocol.version: 'V3' is not a PROXY protocol version; expected V1 or V2")
        .hasMessageContaining("portLevelSettings[0].proxyProtocol: is not a field of a port-level setting");
  }
}
