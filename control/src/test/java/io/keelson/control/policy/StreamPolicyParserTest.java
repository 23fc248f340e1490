package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Service port protocols and VirtualService {@code tcp} / {@code tls} rules: what is read, and what is refused by field path. */
class StreamPolicyParserTest {

  private static List<String> errors(String yaml) {
    return PolicyParserTest.errors(yaml);
  }

  private static Policy only(String yaml) throws PolicyException {
    return PolicyParser.parse("ok.yaml", yaml).policies().getFirst();
  }

  @Test
  void servicePortProtocolsComeFromTheFieldAppProtocolOrTheNamePrefix() throws Exception {
    var svc = (Policy.Service) only("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec:
          ports:
          - { name: sql, port: 5432, protocol: TCP }
          - { name: web, port: 8443, appProtocol: tls }
          - { name: tcp-admin, port: 9000 }
          - { name: grpc-api, port: 9090 }
          - { name: http2, port: 9091 }
          - { name: metrics, port: 8080 }
          - { port: 8081 }
          - { name: https-web, port: 443 }
        """);
    assertThat(svc.ports()).containsExactly(5432, 8443, 9000, 9090, 9091, 8080, 8081, 443);
    // No protocol, appProtocol or protocol name prefix: AUTO (Istio's detection), routed as HTTP.
    assertThat(svc.protocols()).isEqualTo(Map.of(5432, Policy.Protocol.TCP, 8443, Policy.Protocol.TLS,
        9000, Policy.Protocol.TCP, 9090, Policy.Protocol.GRPC, 9091, Policy.Protocol.HTTP2, 443, Policy.Protocol.TLS,
        8080, Policy.Protocol.AUTO, 8081, Policy.Protocol.AUTO));
    assertThat(svc.protocol(8080).http()).isTrue();
    assertThat(svc.protocol(9090).http()).isTrue();
    assertThat(svc.protocol(5432).http()).isFalse();
  }

  @Test
  void badProtocolsAreRefusedNamingTheField() {
    assertThat(errors("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec:
          ports:
          - { port: 5432, protocol: UDP }
          - { port: 5433, appProtocol: mongo }
          - { port: 5434, protocol: TCP, appProtocol: HTTP }
        """)).containsExactly(
        "bad.yaml: Service/db: spec.ports[0].protocol: 'UDP' is not supported; expected one of HTTP, HTTP2, GRPC, GRPC-Web, TCP, TLS (or HTTPS, as TLS)",
        "bad.yaml: Service/db: spec.ports[1].appProtocol: 'mongo' is not supported; expected one of HTTP, HTTP2, GRPC, GRPC-Web, TCP, TLS (or HTTPS, as TLS)",
        "bad.yaml: Service/db: spec.ports[2].appProtocol: 'HTTP' contradicts protocol 'TCP'; set one of them");
  }

  @Test
  void virtualServiceTcpAndTlsRulesAreRead() throws Exception {
    var vs = (Policy.Routes) only("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db.default.svc.cluster.local ]
          tcp:
          - match: [ { port: 5432 } ]
            route:
            - destination: { host: db, subset: v1, port: { number: 5432 } }
              weight: 80
            - destination: { host: db, subset: v2 }
              weight: 20
          tls:
          - match: [ { port: 443, sniHosts: [ a.example, b.example ] } ]
            route:
            - destination: { host: web }
        """);
    assertThat(vs.services()).containsExactly("db");
    assertThat(vs.rules()).isEmpty();
    assertThat(vs.streams()).containsExactly(
        new Policy.StreamRule(Policy.Protocol.TCP, 5432, List.of(), List.of(
            new Policy.Backend("db", "v1", 5432, 80), new Policy.Backend("db", "v2", 0, 20)), "spec.tcp[0]"),
        new Policy.StreamRule(Policy.Protocol.TLS, 443, List.of("a.example", "b.example"), List.of(
            new Policy.Backend("web", null, 0, 100)), "spec.tls[0]"));
  }

  @Test
  void tlsSniHostsAreKeptAsWrittenAsIstiod() throws Exception {
    // istiod's resolveVirtualServiceShortnames expands hosts and destinations, not sniHosts: SNI db stays db
    var vs = (Policy.Routes) only("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db, namespace: shop }
        spec:
          hosts: [ db ]
          tls:
          - match: [ { port: 443, sniHosts: [ db, db.other, "*.example" ] } ]
            route:
            - destination: { host: db }
        """);
    assertThat(vs.streams().getFirst().sniHosts())
        .containsExactly("db", "db.other", "*.example");
  }

  @Test
  void badTcpAndTlsRulesAreRefusedByFieldPath() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - match: [ { port: 5432, destinationSubnets: [ 10.0.0.0/8/x ], sourceLabels: { "bad key!": x } } ]
            route:
            - destination: { host: db, subset: v1 }
            - destination: { host: db, subset: v2 }
              weight: 0
          tls:
          - match: [ { port: 443 } ]
            route:
            - destination: { host: web }
          - match: [ { sniHosts: [ "*.example", "*", "a*.example" ] } ]
        """)).containsExactly(
        "bad.yaml: VirtualService/db: spec.tcp[0].match[0].destinationSubnets: '10.0.0.0/8/x' is not an IP address or"
            + " CIDR block: its prefix length is not within 0-32; expected e.g. 10.0.0.0/8",
        "bad.yaml: VirtualService/db: spec.tcp[0].match[0].sourceLabels: 'bad key!' is not a label name; expected a"
            + " Kubernetes label key such as app or example.com/tier",
        "bad.yaml: VirtualService/db: spec.tcp[0].route[0].weight: is required when a route has several destinations",
        "bad.yaml: VirtualService/db: spec.tcp[0].route: the weights add up to 0; expected at least one destination with a weight above 0",
        "bad.yaml: VirtualService/db: spec.tls[0].match[0].sniHosts: is required",
        "bad.yaml: VirtualService/db: spec.tls[1].match[0].sniHosts: '*' is not an SNI name; expected a host name such as"
            + " app.example.com or a wildcard *.example.com",
        "bad.yaml: VirtualService/db: spec.tls[1].match[0].sniHosts: 'a*.example' is not an SNI name; expected a host"
            + " name such as app.example.com or a wildcard *.example.com",
        "bad.yaml: VirtualService/db: spec.tls[1].route: is required");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
        """)).containsExactly("bad.yaml: VirtualService/db: spec.http: is required (or tcp, or tls)");
  }

  @Test
  void tcpRouteAndTlsRouteAttachToServicesWithWeightedBackends() throws Exception {
    var tcp = (Policy.Routes) only("""
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: db-split }
        spec:
          parentRefs: [ { group: "", kind: Service, name: db, port: 5432 } ]
          rules:
          - backendRefs:
            - { name: db-v1, port: 5432, weight: 3 }
            - { name: db-v2, weight: 1 }
        """);
    assertThat(tcp.services()).containsExactly("db");
    assertThat(tcp.streams()).containsExactly(new Policy.StreamRule(Policy.Protocol.TCP, 5432, List.of(), List.of(
        new Policy.Backend("db-v1", null, 5432, 3), new Policy.Backend("db-v2", null, 0, 1)), "spec.rules[0]"));
    var tls = (Policy.Routes) only("""
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: { name: shop }
        spec:
          parentRefs: [ { kind: Service, name: web } ]
          hostnames: [ shop.example ]
          rules: [ { backendRefs: [ { name: web-v2 } ] } ]
        """);
    assertThat(tls.streams()).containsExactly(new Policy.StreamRule(Policy.Protocol.TLS, null, List.of("shop.example"),
        List.of(new Policy.Backend("web-v2", null, 0, 1)), "spec.rules[0]"));
  }

  @Test
  void badTcpRoutesAndTlsRoutesAreRefusedByFieldPath() {
    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: db }
        spec:
          parentRefs: [ { kind: Service, name: db, port: 5432 }, { kind: Service, name: db, port: 5433 } ]
          hostnames: [ db.example ]
          rules:
          - backendRefs: [ { name: db, weight: 0 } ]
          - backendRefs: [ { name: db } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: { name: web }
        spec:
          parentRefs: [ { name: web } ]
          rules: [ { matches: [ ] } ]
        """)).containsExactly(
        "bad.yaml: TCPRoute/db: spec.hostnames: a TCPRoute has no hostnames; use a TLSRoute to route by SNI",
        "bad.yaml: TCPRoute/db: spec.parentRefs: name different ports [5432, 5433]; expected one port per route (write one route per port)",
        "bad.yaml: TCPRoute/db: spec.rules: has 2 rules; expected one (a connection carries nothing else to match on; put every backend in one rule's backendRefs)",
        "bad.yaml: TCPRoute/db: spec.rules[0].backendRefs: the weights add up to 0; expected at least one backend with a weight above 0",
        "bad.yaml: TLSRoute/web: spec.rules[0].matches: unknown field; expected one of backendRefs, name",
        "bad.yaml: TLSRoute/web: spec.rules[0].backendRefs: is required: a rule without backends sends nothing anywhere");
  }

  @Test
  void aDestinationSubnetWrittenIpv4MappedIsRefusedForTheIpv4AddressItself() {
    // Read as IPv4 (width 32) with the IPv6 length it would be a prefix Envoy and iptables refuse (10.0.0.0/104).
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ db ]
          tcp:
          - match: [ { port: 5432, destinationSubnets: [ "::ffff:10.0.0.0/104" ] } ]
            route: [ { destination: { host: db } } ]
        """)).containsExactly("bad.yaml: VirtualService/db: spec.tcp[0].match[0].destinationSubnets: '::ffff:10.0.0.0/104'"
            + " is an IPv4-mapped IPv6 address; expected the IPv4 address itself (10.0.0.0)");
  }
}
