package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Istio ServiceEntry documents: what is kept, Istio's defaults, and bad input refused at its field path. */
class ServiceEntryParserTest {
  private static final String HEAD = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: external }
      spec:
      """;

  @Test
  void keepsHostsPortsLocationResolutionAndEndpoints() throws Exception {
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", HEAD + """
          hosts: [ api.Example.com ]
          location: MESH_INTERNAL
          resolution: STATIC
          exportTo: [ "." ]
          ports:
          - { number: 80, name: http, protocol: HTTP }
          - { number: 443, name: https, protocol: HTTPS }
          - { number: 3306, name: db, protocol: MYSQL, targetPort: 13306 }
          - { number: 9000, name: grpc-api }
          endpoints:
          - { address: 10.0.0.1, ports: { http: 8080 }, labels: { version: v1 }, weight: 3 }
          - { address: "2001:db8::1" }
        """).policies().getFirst();
    assertThat(se.hosts()).containsExactly("api.example.com");
    assertThat(se.external()).isFalse();
    assertThat(se.resolution()).isEqualTo(Policy.Resolution.STATIC);
    assertThat(se.ports()).extracting(Policy.EntryPort::protocol).containsExactly(Policy.Protocol.HTTP,
        Policy.Protocol.TLS, Policy.Protocol.TCP, Policy.Protocol.GRPC);
    Policy.EntryEndpoint first = se.endpoints().getFirst();
    assertThat(first.portFor(se.port(80))).isEqualTo(8080);
    assertThat(first.portFor(se.port(443))).isEqualTo(443);
    assertThat(first.portFor(se.port(3306))).isEqualTo(13306);
    assertThat(first.labels()).containsEntry("version", "v1");
    assertThat(first.weight()).isEqualTo(3);
    assertThat(se.addresses()).isEmpty();
    assertThat(se.meta().exportTo()).containsExactly(".");
  }

  @Test
  void keepsAddressesAndCidrRanges() throws Exception {
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", HEAD + """
          hosts: [ db.example.com ]
          addresses: [ 10.9.0.7, 192.168.10.0/24 ]
          resolution: STATIC
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
          endpoints: [ { address: 10.0.0.1 } ]
        """).policies().getFirst();
    assertThat(se.addresses()).containsExactly("10.9.0.7", "192.168.10.0/24");
    assertThat(se.virtualIps()).containsExactly("10.9.0.7");
  }

  @Test
  void keepsIpv6AddressesAndRangesAndRefusesTheOnesNoServiceHas() throws Exception {
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", HEAD + """
          hosts: [ db.example.com ]
          addresses: [ "2001:db8::10", "2001:db8:1::/64", 10.9.0.7 ]
          resolution: STATIC
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
          endpoints: [ { address: "2001:db8::100" }, { address: "::1" } ]
        """).policies().getFirst();
    assertThat(se.addresses()).containsExactly("2001:db8::10", "2001:db8:1::/64", "10.9.0.7");
    assertThat(se.virtualIps()).containsExactly("2001:db8::10", "10.9.0.7");
    assertThat(se.endpoints()).extracting(Policy.EntryEndpoint::address).containsExactly("2001:db8::100", "::1");

    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          addresses: [ "2001:db8::10", "2001:DB8:0::10", "::1", "::", "ff02::1", "::ffff:10.0.0.1", "2001:db8::/129",
            "2001:db8::g" ]
          resolution: DNS
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: ServiceEntry/external: spec.addresses[1]: address '2001:DB8:0::10' is listed twice",
        "bad.yaml: ServiceEntry/external: spec.addresses[2]: '::1' cannot be a service address (unspecified, loopback"
            + " or multicast); expected a unicast IPv6 address, e.g. 2001:db8::10",
        "bad.yaml: ServiceEntry/external: spec.addresses[3]: '::' cannot be a service address (unspecified, loopback"
            + " or multicast); expected a unicast IPv6 address, e.g. 2001:db8::10",
        "bad.yaml: ServiceEntry/external: spec.addresses[4]: 'ff02::1' cannot be a service address (unspecified,"
            + " loopback or multicast); expected a unicast IPv6 address, e.g. 2001:db8::10",
        "bad.yaml: ServiceEntry/external: spec.addresses[5]: '::ffff:10.0.0.1' is an IPv4-mapped IPv6 address;"
            + " expected the IPv4 address itself (10.0.0.1)",
        "bad.yaml: ServiceEntry/external: spec.addresses[6]: '2001:db8::/129' is not an IP address or CIDR block: its"
            + " prefix length is not within 0-128; expected e.g. fd00::/8",
        "bad.yaml: ServiceEntry/external: spec.addresses[7]: '2001:db8::g' is not an IP address or CIDR block; expected"
            + " an IPv4 or IPv6 address, optionally /length (e.g. 10.0.0.0/8)");
  }

  @Test
  void refusesOneAddressWrittenAsAHostLengthPrefixWhenItIsRefusedBareAndRangesInsideTheAutoRange() {
    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          addresses: [ "::1/128", "ff02::1/128", "::/128", 127.0.0.1/32, 240.0.0.0/4, 240.240.7.0/24, "::ffff:10.0.0.0/120",
            "2001:db8::10/128", 10.9.0.7/32, 0.0.0.0/0 ]
          resolution: DNS
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: ServiceEntry/external: spec.addresses[0]: '::1/128' cannot be a service address (unspecified,"
            + " loopback or multicast); expected a unicast IPv6 address, e.g. 2001:db8::10",
        "bad.yaml: ServiceEntry/external: spec.addresses[1]: 'ff02::1/128' cannot be a service address (unspecified,"
            + " loopback or multicast); expected a unicast IPv6 address, e.g. 2001:db8::10",
        "bad.yaml: ServiceEntry/external: spec.addresses[2]: '::/128' cannot be a service address (unspecified,"
            + " loopback or multicast); expected a unicast IPv6 address, e.g. 2001:db8::10",
        "bad.yaml: ServiceEntry/external: spec.addresses[3]: '127.0.0.1/32' cannot be a service address (unspecified,"
            + " loopback, multicast or broadcast); expected a unicast IPv4 address, e.g. from 240.240.0.0/16",
        "bad.yaml: ServiceEntry/external: spec.addresses[5]: '240.240.7.0/24' is inside 240.240.0.0/16, where Keelson"
            + " allocates the registry's VIPs; expected an address or range outside it",
        "bad.yaml: ServiceEntry/external: spec.addresses[6]: '::ffff:10.0.0.0/120' is an IPv4-mapped IPv6 address;"
            + " expected the IPv4 address itself (10.0.0.0)");
  }

  @Test
  void refusesIpv4CompatibleAndLinkLocalIpv6AddressesAndRanges() {
    String compatible = "is inside ::/96 (IPv4-compatible IPv6, which holds ::6, the captured sidecar's inbound"
        + " passthrough source); expected a global or unique-local IPv6 address, e.g. 2001:db8::10";
    String linkLocal = "is inside fe80::/10 (link-local: one link's only); expected a global or unique-local IPv6"
        + " address, e.g. 2001:db8::10";
    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          addresses: [ "::6", "::/96", "::a00:1/128", "fe80::1", "fe80::/64", "2001:db8::10" ]
          resolution: DNS
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: ServiceEntry/external: spec.addresses[0]: '::6' " + compatible,
        "bad.yaml: ServiceEntry/external: spec.addresses[1]: '::/96' " + compatible,
        "bad.yaml: ServiceEntry/external: spec.addresses[2]: '::a00:1/128' " + compatible,
        "bad.yaml: ServiceEntry/external: spec.addresses[3]: 'fe80::1' " + linkLocal,
        "bad.yaml: ServiceEntry/external: spec.addresses[4]: 'fe80::/64' " + linkLocal);
  }

  @Test
  void acceptsRangesThatOnlyContainTheAutoRangeAsIstioDoes() throws Exception {
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", HEAD + """
          hosts: [ db.example.com ]
          addresses: [ 0.0.0.0/0, 240.0.0.0/4, "::/0" ]
          resolution: NONE
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
        """).policies().getFirst();
    assertThat(se.addresses()).containsExactly("0.0.0.0/0", "240.0.0.0/4", "::/0");
  }

  @Test
  void defaultsAreIstiosExternalAndResolutionNone() throws Exception {
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", HEAD + """
          hosts: [ example.org ]
          ports: [ { number: 80, name: http } ]
        """).policies().getFirst();
    assertThat(se.external()).isTrue();
    assertThat(se.resolution()).isEqualTo(Policy.Resolution.NONE);
    assertThat(se.endpoints()).isEmpty();
  }

  @Test
  void refusesWhatItDoesNotActOnByFieldPath() {
    assertThat(errors(HEAD + """
          hosts: [ "*.example.com", "not a name", svc.default.svc.cluster.local, "a.*.example.com", "*.com", "*.ns.svc" ]
          addresses: [ 10.1.2.3, 10.1.2.3, 10.0.0.0/33, 127.0.0.1, 240.240.0.9, "fd00::1", not-an-address ]
          exportTo: [ "~", other-namespace ]
          location: SOMEWHERE
          resolution: DNS
          ports:
          - { number: 80, name: http, protocol: UDP }
          - { number: 80, name: web }
          - { name: nonumber }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: ServiceEntry/external: spec.resolution: DNS with a wildcard host: a wildcard names no address to"
            + " resolve or list; expected NONE (the connection goes where the app sent it)",
        "bad.yaml: ServiceEntry/external: spec.hosts[3]: 'a.*.example.com' is not a wildcard host Keelson takes;"
            + " expected '*.' then a domain of at least two labels (e.g. *.example.com)",
        "bad.yaml: ServiceEntry/external: spec.hosts[4]: '*.com' is not a wildcard host Keelson takes;"
            + " expected '*.' then a domain of at least two labels (e.g. *.example.com)",
        "bad.yaml: ServiceEntry/external: spec.hosts[5]: '*.ns.svc' names Kubernetes services; register them as"
            + " keelson.io/v1alpha1 Services instead",
        "bad.yaml: ServiceEntry/external: spec.hosts[1]: 'not a name' is not a DNS name; expected e.g. api.example.com",
        "bad.yaml: ServiceEntry/external: spec.hosts[2]: 'svc.default.svc.cluster.local' names a Kubernetes service;"
            + " register it as a keelson.io/v1alpha1 Service instead",
        "bad.yaml: ServiceEntry/external: spec.addresses[1]: address '10.1.2.3' is listed twice",
        "bad.yaml: ServiceEntry/external: spec.addresses[2]: '10.0.0.0/33' is not an IP address or CIDR block: its"
            + " prefix length is not within 0-32; expected e.g. 10.0.0.0/8",
        "bad.yaml: ServiceEntry/external: spec.addresses[3]: '127.0.0.1' cannot be a service address (unspecified,"
            + " loopback, multicast or broadcast); expected a unicast IPv4 address, e.g. from 240.240.0.0/16",
        "bad.yaml: ServiceEntry/external: spec.addresses[4]: '240.240.0.9' is inside 240.240.0.0/16, where Keelson"
            + " allocates the registry's VIPs; expected an address or range outside it",
        "bad.yaml: ServiceEntry/external: spec.addresses[6]: 'not-an-address' is not an IP address or CIDR block;"
            + " expected an IPv4 or IPv6 address, optionally /length (e.g. 10.0.0.0/8)",
        "bad.yaml: ServiceEntry/external: spec.exportTo: [~, other-namespace] mixes '~' (no namespace) with other"
            + " values; expected '~' alone",
        "bad.yaml: ServiceEntry/external: spec.location: 'SOMEWHERE' is not a location; expected MESH_EXTERNAL or"
            + " MESH_INTERNAL",
        "bad.yaml: ServiceEntry/external: spec.ports[0].protocol: 'UDP' is not supported; expected one of HTTP, HTTP2,"
            + " GRPC, GRPC-Web, TCP, TLS, HTTPS (as TLS), MONGO, MYSQL, REDIS (as TCP)",
        "bad.yaml: ServiceEntry/external: spec.ports[1].number: port 80 is listed twice",
        "bad.yaml: ServiceEntry/external: spec.ports[2].number: is required");
  }

  @Test
  void endpointsMustFitTheResolution() {
    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          resolution: STATIC
          ports: [ { number: 5432, name: tcp } ]
          endpoints:
          - { address: db1.example.com }
          - { address: 10.0.0.2, ports: { sql: 1 }, network: vpc-1 }
          - { address: 10.0.0.3, ports: { tcp: 70000 } }
          subjectAltNames: [ "spiffe://cluster.local/ns/a/sa/b", "api.example.com" ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: ServiceEntry/external: spec.endpoints[0].address: 'db1.example.com' is not an IP address;"
            + " resolution STATIC needs IP addresses (use resolution DNS for host names)",
        "bad.yaml: ServiceEntry/external: spec.endpoints[1].network: networks (Istio's multi-network mesh, reached"
            + " through east-west gateways) are not supported: sidecars connect to every endpoint directly; expected"
            + " the field removed (one network)",
        "bad.yaml: ServiceEntry/external: spec.subjectAltNames[1]: 'api.example.com' is not a SPIFFE ID; expected"
            + " spiffe://<trust domain>/ns/<namespace>/sa/<service account> (mesh mTLS checks the URI SAN of the"
            + " endpoints' workload certificates)",
        "bad.yaml: ServiceEntry/external: spec.endpoints[1].ports.sql: no port of this ServiceEntry is named 'sql';"
            + " expected one of [tcp]",
        "bad.yaml: ServiceEntry/external: spec.endpoints[2].ports.tcp: '70000' is not a port; expected a number from"
            + " 1 to 65535");
    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          resolution: STATIC
          ports: [ { number: 5432, name: tcp } ]
        """)).containsExactly("bad.yaml: ServiceEntry/external: spec.endpoints: is required with resolution STATIC;"
        + " expected endpoints with IP addresses, or a workloadSelector");
    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          ports: [ { number: 5432, name: tcp } ]
          endpoints: [ { address: 10.0.0.1 } ]
        """)).containsExactly("bad.yaml: ServiceEntry/external: spec.endpoints: resolution NONE takes no endpoints"
        + " (connections go where the app sent them); expected STATIC or DNS resolution with endpoints");
    assertThat(errors(HEAD + """
          hosts: [ db.example.com ]
          resolution: DNS_ROUND_ROBIN
          ports: [ { number: 5432, name: tcp } ]
          endpoints: [ { address: a.example.com }, { address: b.example.com } ]
        """)).containsExactly("bad.yaml: ServiceEntry/external: spec.endpoints: resolution DNS_ROUND_ROBIN takes at"
        + " most one endpoint (Envoy's LOGICAL_DNS); found 2; expected DNS resolution for several");
  }

  @Test
  void destinationRuleTlsIsSimpleMutualOrDisableAndTheRestIsRefusedByName() throws Exception {
    var dr = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            tls: { mode: SIMPLE, sni: edge.example.com, caCertificates: /etc/keelson/ca.pem, subjectAltNames: [ a.example.com ] }
        """).policies().getFirst();
    assertThat(dr.tls()).isEqualTo(new Policy.ClientTls(true, "edge.example.com", "/etc/keelson/ca.pem",
        java.util.List.of("a.example.com"), false));
    assertThat(dr.tls().mutual()).isFalse();
    var mutual = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            tls: { mode: MUTUAL, clientCertificate: /etc/keelson/client.crt, privateKey: /etc/keelson/client.key }
        """).policies().getFirst();
    assertThat(mutual.tls()).isEqualTo(new Policy.ClientTls(true, null, null, java.util.List.of(), false,
        "/etc/keelson/client.crt", "/etc/keelson/client.key"));
    assertThat(mutual.tls().mutual()).isTrue();
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            tls: { mode: MUTUAL, clientCertificate: /c.pem, caCertificates: relative.pem }
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy: { tls: { mode: SIMPLE } }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.caCertificates: 'relative.pem' is not an absolute path;"
            + " expected the path of a PEM file on the proxy's machine",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.privateKey: is required with mode MUTUAL; expected the"
            + " path of a PEM file on the proxy's machine");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy: { tls: { mode: SIMPLE, clientCertificate: /c.pem, privateKey: /k.pem } }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.clientCertificate: applies to mode MUTUAL only (the proxy"
            + " presents a client certificate); mode is SIMPLE",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.privateKey: applies to mode MUTUAL only (the proxy"
            + " presents a client certificate); mode is SIMPLE");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy: { tls: { mode: ISTIO_MUTUAL, caCertificates: /etc/ca.pem, subjectAltNames: [ api ] } }
        """)).containsExactly("bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.caCertificates: is not supported"
        + " with mode ISTIO_MUTUAL (the sidecar presents its own mesh certificate and trusts the mesh roots); expected"
        + " the field removed", "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.subjectAltNames[0]: 'api' is not"
        + " a SPIFFE ID; expected spiffe://... (mesh certificates carry their identity as a URI SAN)");
    var istio = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
        """).policies().getFirst();
    assertThat(istio.tls()).isSameAs(Policy.ClientTls.ISTIO_MUTUAL);
    var named = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            tls: { mode: ISTIO_MUTUAL, sni: api.example.com, subjectAltNames: [ "spiffe://cluster.local/ns/a/sa/b" ] }
        """).policies().getFirst();
    assertThat(named.tls()).isEqualTo(Policy.ClientTls.istioMutual("api.example.com",
        java.util.List.of("spiffe://cluster.local/ns/a/sa/b")));
  }

  @Test
  void credentialNameNamesASecretInsteadOfCertificateFiles() throws Exception {
    Policy.DestinationRule mutual = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api, namespace: istio-system }
        spec:
          host: api.example.com
          trafficPolicy:
            tls: { mode: MUTUAL, credentialName: client-credential, sni: api.example.com }
        """).policies().getFirst();
    assertThat(mutual.tls().credential()).isEqualTo(new Policy.Credential("client-credential", true));
    assertThat(mutual.tls().mutual()).isTrue();
    assertThat(mutual.tls().clientCertificate()).isNull();
    Policy.DestinationRule simple = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy: { tls: { mode: SIMPLE, credentialName: api-ca } }
        """).policies().getFirst();
    assertThat(simple.tls().credential()).isEqualTo(new Policy.Credential("api-ca", false));
    assertThat(simple.tls().mutual()).isFalse();
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy:
            tls: { mode: MUTUAL, credentialName: shop/client, clientCertificate: /c.pem, caCertificates: /ca.pem }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.caCertificates: cannot be used with credentialName (the"
            + " Secret holds the certificates); expected one or the other",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.clientCertificate: cannot be used with credentialName"
            + " (the Secret holds the certificates); expected one or the other",
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.credentialName: 'shop/client' is not a Secret name;"
            + " expected the name of a Secret in the namespace of the proxy that originates TLS");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.com
          trafficPolicy: { tls: { mode: DISABLE, credentialName: api-ca } }
        """)).containsExactly("bad.yaml: DestinationRule/api: spec.trafficPolicy.tls.credentialName: applies to modes"
        + " SIMPLE and MUTUAL only; mode is DISABLE");
  }

  @Test
  void theEgressExampleAppliesWithoutWarnings() throws Exception {
    java.nio.file.Path file = java.nio.file.Path.of("..", "examples", "egress", "egress.yaml");
    PolicyParser.Parsed parsed = PolicyParser.parse(file.toString(), java.nio.file.Files.readString(file));
    assertThat(parsed.warnings()).isEmpty();
    io.keelson.control.store.PolicyStore store = new io.keelson.control.store.PolicyStore();
    store.apply(parsed.policies(), false);
    assertThat(store.current().ofType(Policy.ServiceEntry.class)).hasSize(2);
  }
}
