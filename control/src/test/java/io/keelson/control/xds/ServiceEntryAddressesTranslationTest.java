package io.keelson.control.xds;

import static io.keelson.control.xds.ServiceEntryTranslationTest.listener;
import static io.keelson.control.xds.ServiceEntryTranslationTest.store;
import static io.keelson.control.xds.ServiceEntryTranslationTest.tcpCluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntry {@code addresses} on captured sidecars, in istiod's shape: the virtual IPs in the DNS proxy's name table
 * for the host, a TCP port's listener matching the addresses and CIDR ranges to the host's cluster (the rest passed
 * through, or blocked under REGISTRY_ONLY), an HTTP port's virtual host matching the address as Host.
 */
class ServiceEntryAddressesTranslationTest {
  private static final String ENTRIES = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: db }
      spec:
        hosts: [ db.example.test ]
        addresses: [ 10.9.0.7, 192.168.10.0/24 ]
        resolution: STATIC
        ports: [ { number: 5432, name: tcp, protocol: TCP } ]
        endpoints: [ { address: 10.0.0.1 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [ api.example.test ]
        addresses: [ 10.9.0.8 ]
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        endpoints: [ { address: 10.0.0.2 } ]
      """;

  @Test
  void addressesAnswerForTheHostAndATcpPortMatchesThemByPrefix() throws Exception {
    MeshResources r = new MeshTranslator(15001, false, true).translate(store(ENTRIES).current(), List.of());

    Struct names = listener(r, "virtualOutbound").getMetadata().getFilterMetadataOrThrow("keelson.io/name_table")
        .getFieldsOrThrow("table").getStructValue();
    assertThat(names.getFieldsOrThrow("db.example.test").getStructValue().getFieldsOrThrow("ips").getListValue()
        .getValuesList()).extracting(v -> v.getStringValue()).containsExactly("10.9.0.7"); // not the CIDR range
    assertThat(names.getFieldsOrThrow("api.example.test").getStructValue().getFieldsOrThrow("ips").getListValue()
        .getValues(0).getStringValue()).isEqualTo("10.9.0.8");

    Listener db = listener(r, "0.0.0.0_5432");
    assertThat(db.getFilterChainsCount()).isEqualTo(2);
    FilterChain byAddress = db.getFilterChains(0);
    assertThat(byAddress.getFilterChainMatch().getPrefixRangesList()).extracting(CidrRange::getAddressPrefix,
        c -> c.getPrefixLen().getValue()).containsExactly(org.assertj.core.groups.Tuple.tuple("10.9.0.7", 32),
        org.assertj.core.groups.Tuple.tuple("192.168.10.0", 24));
    assertThat(tcpCluster(byAddress)).isEqualTo("outbound|5432||db.example.test");
    assertThat(db.getFilterChains(1).getName()).isEqualTo(CapturedListeners.PASSTHROUGH_CHAIN);
    assertThat(tcpCluster(db.getFilterChains(1))).isEqualTo("PassthroughCluster");

    RouteConfiguration port80 = r.routes().stream().filter(rc -> rc.getName().equals("80")).findFirst().orElseThrow();
    assertThat(port80.getVirtualHostsList()).filteredOn(vh -> vh.getName().equals("api.example.test:80"))
        .singleElement().satisfies(vh -> assertThat(vh.getDomainsList()).contains("api.example.test", "10.9.0.8",
            "10.9.0.8:80"));
    Mesh.dataPlane(r); // the data plane takes it

    // REGISTRY_ONLY: another address on the port meets BlackHoleCluster, the entry's addresses still its cluster.
    MeshResources only = new MeshTranslator(15001, false, true, OutboundTrafficPolicy.REGISTRY_ONLY)
        .translate(store(ENTRIES).current(), List.of());
    Listener blocked = listener(only, "0.0.0.0_5432");
    assertThat(tcpCluster(blocked.getFilterChains(0))).isEqualTo("outbound|5432||db.example.test");
    assertThat(tcpCluster(blocked.getFilterChains(1))).isEqualTo("BlackHoleCluster");
  }

  @Test
  void tcpEntriesWithAddressesShareAPortAndOneWithoutIsRefused() throws Exception {
    String second = """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: db2 }
        spec:
          hosts: [ db2.example.test ]
          addresses: [ 10.9.0.9 ]
          resolution: STATIC
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
          endpoints: [ { address: 10.0.0.3 } ]
        """;
    MeshResources r = new MeshTranslator(15001, false, true).translate(store(ENTRIES + second).current(), List.of());
    Listener db = listener(r, "0.0.0.0_5432");
    assertThat(db.getFilterChainsCount()).isEqualTo(3);
    assertThat(db.getFilterChainsList().subList(0, 2))
        .extracting(c -> c.getFilterChainMatch().getPrefixRanges(0).getAddressPrefix()).containsExactly("10.9.0.7",
            "10.9.0.9");
    assertThat(tcpCluster(db.getFilterChains(0))).isEqualTo("outbound|5432||db.example.test");
    assertThat(tcpCluster(db.getFilterChains(1))).isEqualTo("outbound|5432||db2.example.test");
    assertThat(tcpCluster(db.getFilterChains(2))).isEqualTo("PassthroughCluster");
    Mesh.dataPlane(r);

    assertThatThrownBy(() -> store(ENTRIES + second.replace("addresses: [ 10.9.0.9 ]", "")))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .anySatisfy(m -> assertThat(m).startsWith("entries.yaml: ServiceEntry/db2: spec.ports[0].number: port 5432"
                + " (TCP) is also host db.example.test's port 5432 (TCP)")));
  }

  @Test
  void anAddressBelongsToOneEntryAndNoService() throws Exception {
    assertThatThrownBy(() -> store(ENTRIES + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: copy }
        spec:
          hosts: [ copy.example.test ]
          addresses: [ 10.9.0.8 ]
          resolution: DNS
          ports: [ { number: 8080, name: http } ]
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: ledger }
        spec:
          addresses: [ 10.9.0.7 ]
          ports: [ { name: tcp, port: 7000 } ]
        """)).isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
        .containsExactlyInAnyOrder(
            "entries.yaml: ServiceEntry/api: spec.addresses[0]: address '10.9.0.8' is also ServiceEntry/copy's;"
                + " expected addresses no other ServiceEntry has",
            "entries.yaml: ServiceEntry/copy: spec.addresses[0]: address '10.9.0.8' is also ServiceEntry/api's;"
                + " expected addresses no other ServiceEntry has",
            "entries.yaml: ServiceEntry/db: spec.addresses[0]: address '10.9.0.7' is Service/ledger's VIP; expected"
                + " an address no Service has"));
  }

  private static String entry(String name, String addresses) {
    return """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: NAME }
        spec: { hosts: [ NAME.example.test ], addresses: ADDRESSES, resolution: STATIC,
          ports: [ { number: 7000, name: tcp, protocol: TCP } ], endpoints: [ { address: 10.0.0.1 } ] }
        """.replace("NAME", name).replace("ADDRESSES", addresses);
  }

  /**
   * IPv6 addresses as the IPv4 ones: the VIP in the name table (the DNS proxy's AAAA answer), literals and ranges as
   * {@code prefix_ranges} with host bits masked (the data plane selects by them), the VIP in brackets as Host, an IPv6
   * endpoint in the cluster's assignment.
   */
  @Test
  void ipv6AddressesAndEndpointsTranslateAsIpv4Ones() throws Exception {
    MeshResources r = new MeshTranslator(15001, false, true).translate(store(ENTRIES + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: v6db }
        spec:
          hosts: [ v6db.example.test ]
          addresses: [ "2001:db8::10", "2001:db8:1::7/64" ]
          resolution: STATIC
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
          endpoints: [ { address: "2001:db8::100" } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: v6api }
        spec:
          hosts: [ v6api.example.test ]
          addresses: [ "2001:DB8:0::20" ]
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          endpoints: [ { address: "::1" } ]
        """).current(), List.of());

    Struct names = listener(r, "virtualOutbound").getMetadata().getFilterMetadataOrThrow("keelson.io/name_table")
        .getFieldsOrThrow("table").getStructValue();
    assertThat(names.getFieldsOrThrow("v6db.example.test").getStructValue().getFieldsOrThrow("ips").getListValue()
        .getValuesList()).extracting(v -> v.getStringValue()).containsExactly("2001:db8::10");
    Listener db = listener(r, "0.0.0.0_5432");
    assertThat(db.getFilterChainsList()).filteredOn(c -> c.getFilterChainMatch().getPrefixRangesCount() > 0)
        .flatExtracting(c -> c.getFilterChainMatch().getPrefixRangesList())
        .extracting(CidrRange::getAddressPrefix, c -> c.getPrefixLen().getValue()).containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.9.0.7", 32), org.assertj.core.groups.Tuple.tuple("192.168.10.0", 24),
            org.assertj.core.groups.Tuple.tuple("2001:db8::10", 128),
            org.assertj.core.groups.Tuple.tuple("2001:db8:1::", 64));
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_5432", "2001:db8::10", 5432))
        .isEqualTo("outbound|5432||v6db.example.test");
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_5432", "2001:db8:1::ffff", 5432))
        .isEqualTo("outbound|5432||v6db.example.test");
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_5432", "10.9.0.7", 5432))
        .isEqualTo("outbound|5432||db.example.test");
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_5432", "2001:db8:2::1", 5432)).isEqualTo("PassthroughCluster");
    assertThat(ServiceEntryTranslationTest.endpoints(r, "outbound|5432||v6db.example.test"))
        .containsExactly("2001:db8::100:5432");
    assertThat(ServiceEntryTranslationTest.endpoints(r, "outbound|80||v6api.example.test")).containsExactly("::1:80");

    RouteConfiguration port80 = r.routes().stream().filter(rc -> rc.getName().equals("80")).findFirst().orElseThrow();
    assertThat(port80.getVirtualHostsList()).filteredOn(vh -> vh.getName().equals("v6api.example.test:80"))
        .singleElement().satisfies(vh -> assertThat(vh.getDomainsList()).contains("[2001:db8::20]",
            "[2001:db8::20]:80"));
  }

  @Test
  void ipv6AddressesThatAreOnePrefixAsEnvoyReadsThemAreRefused() {
    assertThatThrownBy(() -> store(entry("x", "[ \"2001:db8::/64\" ]") + entry("y", "[ \"2001:db8::1/64\" ]")))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .contains("entries.yaml: ServiceEntry/y: spec.addresses[0]: address '2001:db8::1/64' is also"
                + " ServiceEntry/x's ('2001:db8::/64': both are 2001:db8::/64); expected addresses no other"
                + " ServiceEntry has"));
    assertThatThrownBy(() -> store(entry("x", "[ \"2001:db8::5\" ]") + entry("y", "[ \"2001:DB8:0::5/128\" ]")))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .contains("entries.yaml: ServiceEntry/y: spec.addresses[0]: address '2001:DB8:0::5/128' is also"
                + " ServiceEntry/x's ('2001:db8::5': both are 2001:db8::5/128); expected addresses no other"
                + " ServiceEntry has"));
  }

  /** Envoy masks host bits and reads a bare address as /32: addresses written apart can be one prefix. */
  @Test
  void addressesThatAreOnePrefixAsEnvoyReadsThemAreRefused() {
    assertThatThrownBy(() -> store(entry("x", "[ 10.9.0.5 ]") + entry("y", "[ 10.9.0.5/32 ]")))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .contains("entries.yaml: ServiceEntry/y: spec.addresses[0]: address '10.9.0.5/32' is also"
                + " ServiceEntry/x's ('10.9.0.5': both are 10.9.0.5/32); expected addresses no other ServiceEntry has"));
    assertThatThrownBy(() -> store(entry("x", "[ 10.9.0.0/24 ]") + entry("y", "[ 10.9.0.1/24 ]")))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .contains("entries.yaml: ServiceEntry/y: spec.addresses[0]: address '10.9.0.1/24' is also"
                + " ServiceEntry/x's ('10.9.0.0/24': both are 10.9.0.0/24); expected addresses no other ServiceEntry"
                + " has"));
  }

  /**
   * A tcp rule's destinationSubnets on a port shared by address take only the host's own addresses (istiod: its own
   * {@code <address>_<port>} listener): another entry's range stays that entry's; one prefix for two hosts is refused.
   */
  @Test
  void aRulesSubnetsTakeOnlyItsHostsAddressesAndAPrefixOfTwoHostsIsRefused() throws Exception {
    String yRule = """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: y }
        spec:
          hosts: [ y.example.test ]
          tcp:
          - match: [ { destinationSubnets: [ SUBNET ] } ]
            route: [ { destination: { host: y.example.test } } ]
        """;
    MeshResources r = new MeshTranslator(15001, false, true).translate(store(entry("x", "[ 10.9.0.0/24 ]")
        + entry("y", "[ 10.8.0.9 ]") + yRule.replace("SUBNET", "10.9.0.0/24")).current(), List.of());
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_7000", "10.9.0.7", 7000)).as("x's range, not y's rule")
        .isEqualTo("outbound|7000||x.example.test");
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_7000", "10.8.0.9", 7000))
        .isEqualTo("outbound|7000||y.example.test");

    // y's range holds x's: y's rule for x's range would claim x's prefix.
    String twoHosts = entry("x", "[ 10.9.1.0/24 ]") + entry("y", "[ 10.9.0.0/16 ]");
    String expected = "prefix 10.9.1.0/24 on port 7000 is host y.example.test's (VirtualService/y"
        + " spec.tcp[0].match.destinationSubnets) and host x.example.test's (ServiceEntry/x spec.addresses)";
    assertThatThrownBy(() -> store(twoHosts + yRule.replace("SUBNET", "10.9.1.0/24")))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .anySatisfy(m -> assertThat(m).startsWith("entries.yaml: ServiceEntry/y: spec.ports[0].number: "
                + expected)));
    PolicyStore applied = store(twoHosts);
    assertThatThrownBy(() -> applied.apply(PolicyParser.parse("vs.yaml", yRule.replace("SUBNET", "10.9.1.7/24"))
        .policies(), false)).as("the VirtualService applied alone: the same check, its host bits masked")
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .anySatisfy(m -> assertThat(m).startsWith("vs.yaml: VirtualService/y: spec.tcp[0].match: " + expected)));
  }
}
