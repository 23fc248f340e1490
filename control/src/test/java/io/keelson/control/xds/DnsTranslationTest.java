package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Service VIPs and the DNS name table a captured sidecar receives: VIPs allocated deterministically (or set in
 * {@code spec.addresses}), every name form in virtualOutbound's metadata, HTTP virtual hosts matching the longer
 * names and the VIP, and TCP services sharing a port told apart by VIP instead of refused.
 */
class DnsTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: ledger }
      spec: { ports: [ { name: tcp, port: 7100 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: audit }
      spec: { ports: [ { name: tcp, port: 7100 } ], addresses: [ 10.96.0.20 ] }
      """;

  private static PolicySet state(String yaml) throws PolicyException {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    return store.current();
  }

  private static MeshResources captured(PolicySet state) {
    return new MeshTranslator(15001, false, true).translate(state, List.of());
  }

  private static Listener listener(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void virtualOutboundCarriesEveryNameFormOfEveryServiceAtItsVip() throws Exception {
    PolicySet state = state(SERVICES);
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    assertThat(vips.get("audit")).as("spec.addresses wins").isEqualTo("10.96.0.20");
    assertThat(vips.get("reviews")).startsWith("240.240.");
    Struct table = listener(captured(state), "virtualOutbound").getMetadata().getFilterMetadataOrThrow("keelson.io/name_table");
    Struct names = table.getFieldsOrThrow("table").getStructValue();
    for (String name : List.of("reviews", "reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local")) {
      assertThat(names.getFieldsOrThrow(name).getStructValue().getFieldsOrThrow("ips").getListValue().getValues(0)
          .getStringValue()).as(name).isEqualTo(vips.get("reviews"));
    }
    assertThat(names.getFieldsOrThrow("audit.default.svc.cluster.local").getStructValue().getFieldsOrThrow("ips")
        .getListValue().getValues(0).getStringValue()).isEqualTo("10.96.0.20");
    assertThat(names.getFieldsCount()).isEqualTo(12);
    assertThat(table.getFieldsOrThrow("zones").getListValue().getValues(0).getStringValue()).isEqualTo("svc.cluster.local");
    // A sidecar that is not captured gets no table (its outbound listener is unchanged).
    MeshResources plain = new MeshTranslator(15001, false).translate(state, List.of());
    assertThat(listener(plain, "outbound").hasMetadata()).isFalse();
  }

  @Test
  void anHttpServiceIsMatchedByItsLongerNamesAndItsVip() throws Exception {
    PolicySet state = state(SERVICES);
    String vip = ServiceAddresses.of(state.ofType(Policy.Service.class)).get("reviews");
    RouteConfiguration routes = captured(state).routes().stream().filter(r -> r.getName().equals("9080")).findFirst()
        .orElseThrow();
    VirtualHost reviews = routes.getVirtualHosts(0);
    assertThat(reviews.getDomainsList()).contains("reviews", "reviews:9080", "reviews.default.svc.cluster.local",
        "reviews.default.svc.cluster.local:9080", "reviews.default:9080", vip, vip + ":9080");
    assertThat(reviews.getDomainsList()).doesNotHaveDuplicates();
  }

  @Test
  void tcpServicesSharingAPortAreToldApartByVipAndOtherAddressesPassThrough() throws Exception {
    PolicySet state = state(SERVICES);
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    Listener port = listener(captured(state), "0.0.0.0_7100");
    assertThat(port.getFilterChainsList()).hasSize(3);
    List<String> matched = new ArrayList<>();
    for (FilterChain c : port.getFilterChainsList().subList(0, 2)) {
      var range = c.getFilterChainMatch().getPrefixRanges(0);
      assertThat(range.getPrefixLen().getValue()).isEqualTo(32);
      String cluster = c.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster();
      assertThat(range.getAddressPrefix()).as(cluster).isEqualTo(vips.get(cluster));
      matched.add(cluster);
    }
    assertThat(matched).containsExactlyInAnyOrder("ledger", "audit");
    FilterChain last = port.getFilterChains(2);
    assertThat(last.getName()).isEqualTo("PassthroughFilterChain");
    assertThat(last.hasFilterChainMatch()).isFalse();
  }

  /** Under REGISTRY_ONLY the shared port's other addresses go to the black hole too, not through. */
  @Test
  void underRegistryOnlyASharedTcpPortsOtherAddressesAreBlocked() throws Exception {
    PolicySet state = state(SERVICES);
    MeshResources r = new MeshTranslator(15001, false, true, OutboundTrafficPolicy.REGISTRY_ONLY).translate(state, List.of());
    FilterChain last = listener(r, "0.0.0.0_7100").getFilterChains(2);
    assertThat(last.getName()).isEqualTo("PassthroughFilterChain");
    assertThat(last.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster())
        .isEqualTo(OutboundTrafficPolicy.BLACK_HOLE);
  }

  @Test
  void vipsAreAPureFunctionOfTheServicesAndAPinnedAddressMovesTheServiceWhoseSlotItTook() throws Exception {
    List<Policy.Service> services = new ArrayList<>(state(SERVICES).ofType(Policy.Service.class));
    Map<String, String> first = ServiceAddresses.of(services);
    Collections.reverse(services);
    assertThat(ServiceAddresses.of(services)).as("order does not matter").isEqualTo(first);
    // Another service keeps the others where they are.
    Map<String, String> more = ServiceAddresses.of(state(SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: ratings }
        spec: { ports: [ { port: 9080 } ] }
        """).ofType(Policy.Service.class));
    assertThat(more).containsAllEntriesOf(first).hasSize(4);
    for (String vip : more.values()) {
      String last = vip.substring(vip.lastIndexOf('.') + 1);
      assertThat(last).isNotIn("0", "255");
    }
    // A service pinned to reviews' automatic address takes it; reviews probes on to another.
    Map<String, String> pinned = ServiceAddresses.of(state(SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: pinned }
        spec: { ports: [ { port: 9090 } ], addresses: [ %s ] }
        """.formatted(first.get("reviews"))).ofType(Policy.Service.class));
    assertThat(pinned.get("pinned")).isEqualTo(first.get("reviews"));
    assertThat(pinned.get("reviews")).startsWith("240.240.").isNotEqualTo(first.get("reviews"));
    assertThat(new java.util.HashSet<>(pinned.values())).hasSize(pinned.size());
  }

  @Test
  void anHttpServiceOnATcpServicesPortKeepsTheHostRoutedChainAfterTheVipChain() throws Exception {
    PolicySet state = state(SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: web }
        spec: { ports: [ { name: http, port: 7100 } ] }
        """);
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    MeshResources r = captured(state);
    Listener port = listener(r, "0.0.0.0_7100");
    assertThat(port.getFilterChainsList()).hasSize(3);
    assertThat(port.getFilterChains(0).getFilterChainMatch().getPrefixRanges(0).getAddressPrefix())
        .isIn(vips.get("ledger"), vips.get("audit"));
    assertThat(port.getFilterChains(1).getFilterChainMatch().getPrefixRangesCount()).isOne();
    FilterChain http = port.getFilterChains(2);
    assertThat(http.hasFilterChainMatch()).as("every other address: Host routing").isFalse();
    assertThat(http.getFilters(0).getName()).isEqualTo("envoy.filters.network.http_connection_manager");
    assertThat(r.routes().stream().filter(rc -> rc.getName().equals("7100")).findFirst().orElseThrow()
        .getVirtualHosts(0).getName()).isEqualTo("web");
  }

  @Test
  void theDataPlaneTakesTheCapturedTranslationWithItsNameTableAndVipChains() throws Exception {
    PolicySet state = state(SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: web }
        spec: { ports: [ { name: http, port: 7100 }, { name: tls, port: 8443 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: shop }
        spec: { ports: [ { name: tls, port: 8443 } ] }
        """);
    MeshResources r = captured(state);
    Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = new java.util.HashMap<>();
    r.routes().forEach(rc -> routes.put(rc.getName(), rc));
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints = new java.util.HashMap<>();
    r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    io.keelson.dataplane.config.ProxySnapshot snapshot = io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate(
        "v1", io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(),
        routes, r.clusters(), endpoints);
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    assertThat(snapshot.names().addresses("shop.default.svc.cluster.local")).containsExactly(vips.get("shop"));
    assertThat(snapshot.names().addresses("ledger")).containsExactly(vips.get("ledger"));
    assertThat(snapshot.names().zones()).containsExactly("svc.cluster.local");
    assertThat(snapshot.listeners()).extracting(io.keelson.dataplane.config.ListenerConfig::name)
        .contains("0.0.0.0_7100", "0.0.0.0_8443");
  }

  /**
   * A literal IPv6 VIP: the name table's {@code ips} (what the DNS proxy answers AAAA from), a {@code /128} chain of its
   * own on a shared TCP port that an IPv6 destination selects through the data plane's matching, and the HTTP virtual
   * host's domains with the VIP bracketed, as a Host header carries it.
   */
  @Test
  void anIpv6VipIsInTheNameTableAndItsTcpChainAndTheHttpDomains() throws Exception {
    PolicySet state = state(SERVICES.replace("10.96.0.20", "FD00:96:0::20") + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: ratings }
        spec: { ports: [ { name: http, port: 9080 } ], addresses: [ "fd00:96::30" ] }
        """);
    Map<String, String> vips = ServiceAddresses.of(state.ofType(Policy.Service.class));
    assertThat(vips).containsEntry("audit", "fd00:96::20").containsEntry("ratings", "fd00:96::30");
    MeshResources r = captured(state);
    Struct names = listener(r, "virtualOutbound").getMetadata().getFilterMetadataOrThrow("keelson.io/name_table")
        .getFieldsOrThrow("table").getStructValue();
    assertThat(names.getFieldsOrThrow("audit.default.svc.cluster.local").getStructValue().getFieldsOrThrow("ips")
        .getListValue().getValues(0).getStringValue()).isEqualTo("fd00:96::20");
    FilterChain audit = listener(r, "0.0.0.0_7100").getFilterChainsList().stream()
        .filter(c -> c.getFilterChainMatch().getPrefixRangesCount() > 0
            && c.getFilterChainMatch().getPrefixRanges(0).getAddressPrefix().contains(":")).findFirst().orElseThrow();
    assertThat(audit.getFilterChainMatch().getPrefixRanges(0).getPrefixLen().getValue()).isEqualTo(128);
    assertThat(audit.getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster()).isEqualTo("audit");
    VirtualHost ratings = r.routes().stream().filter(rc -> rc.getName().equals("9080")).findFirst().orElseThrow()
        .getVirtualHostsList().stream().filter(v -> v.getDomainsList().contains("ratings")).findFirst().orElseThrow();
    assertThat(ratings.getDomainsList()).contains("[fd00:96::30]", "[fd00:96::30]:9080").doesNotContain("fd00:96::30");

    // The data plane takes it: the DNS proxy's table answers the IPv6 VIP, and an IPv6 connection to it on 7100 is
    // matched to audit's chain (a connection to another IPv6 address to the passthrough).
    io.keelson.dataplane.config.ProxySnapshot snapshot = Mesh.dataPlane(r);
    assertThat(snapshot.names().addresses("audit")).containsExactly("fd00:96:0:0:0:0:0:20"); // Java's text of it
    assertThat(snapshot.names().addresses("ratings.default.svc")).containsExactly("fd00:96:0:0:0:0:0:30");
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_7100", "fd00:96::20", 7100)).isEqualTo("audit");
    assertThat(StreamTranslationTest.select(r, "0.0.0.0_7100", "fd00:96::99", 7100)).isEqualTo("PassthroughCluster");
  }

  @Test
  void badOrSharedAddressesAndTcpBesideTlsOnOnePortAreRefusedByFieldPath() {
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "127.0.0.9"))).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.addresses[0]: '127.0.0.9' cannot be a service address");
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "fd00::1::2"))).hasMessageContaining(
        "spec.addresses[0]: 'fd00::1::2' is not an IPv6 address");
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "ff02::1"))).hasMessageContaining(
        "spec.addresses[0]: 'ff02::1' cannot be a service address");
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "\"::ffff:10.96.0.20\""))).hasMessageContaining(
        "is an IPv4-mapped IPv6 address");
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "\"::6\""))).hasMessageContaining(
        "spec.addresses[0]: '::6' is inside ::/96 (IPv4-compatible IPv6");
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "\"fe80::20\""))).hasMessageContaining(
        "spec.addresses[0]: 'fe80::20' is inside fe80::/10 (link-local");
    assertThatThrownBy(() -> state(SERVICES.replace("[ 10.96.0.20 ]", "[ 10.96.0.20, 10.96.0.21 ]")))
        .hasMessageContaining("spec.addresses: expected one IPv4 or IPv6 address");
    assertThatThrownBy(() -> state(SERVICES.replace("10.96.0.20", "FD00:0::20") + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: copy }
        spec: { ports: [ { port: 9090 } ], addresses: [ "fd00::20" ] }
        """)).hasMessageContaining("spec.addresses[0]: address fd00::20 is already Service/");
    assertThatThrownBy(() -> state(SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: copy }
        spec: { ports: [ { port: 9090 } ], addresses: [ 10.96.0.20 ] }
        """)).hasMessageContaining("spec.addresses[0]: address 10.96.0.20 is already Service/");
    assertThatThrownBy(() -> state(SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: web }
        spec: { ports: [ { name: tls, port: 7100 } ] }
        """)).hasMessageContaining("port 7100 (TLS) is also port 7100 (TCP) of Service/");
  }
}
