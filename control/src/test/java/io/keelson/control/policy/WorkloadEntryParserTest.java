package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.store.PolicyStore;
import io.keelson.control.store.WorkloadEntries;
import org.junit.jupiter.api.Test;

/**
 * Istio WorkloadEntry documents and ServiceEntry {@code workloadSelector}: what is kept, refusals by field path, and
 * the checks between an entry and the WorkloadEntries it selects when either is applied.
 */
class WorkloadEntryParserTest {
  private static final String ENTRY = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: vm-api }
      spec:
        hosts: [ api.vm.example ]
        location: MESH_INTERNAL
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP, targetPort: 8080 } ]
        workloadSelector: { labels: { app: api } }
      """;

  private static String workloadEntry(String name, String version, String spec) {
    return """
        apiVersion: networking.istio.io/v1beta1
        kind: WorkloadEntry
        metadata: { name: %s }
        spec:
          labels: { app: api, version: %s }
        %s
        """.formatted(name, version, spec.indent(2).stripTrailing());
  }

  @Test
  void keepsAddressPortsLabelsAndWeightOfEveryIstioVersion() throws Exception {
    for (String version : new String[] {"v1", "v1beta1", "v1alpha3"}) {
      var we = (Policy.WorkloadEntry) PolicyParser.parse("we.yaml", """
          apiVersion: networking.istio.io/%s
          kind: WorkloadEntry
          metadata: { name: vm-1 }
          spec:
            address: 192.0.2.10
            ports: { http: 9080 }
            labels: { app: api, version: v1 }
            weight: 5
          """.formatted(version)).policies().getFirst();
      assertThat(we.endpoint().address()).isEqualTo("192.0.2.10");
      assertThat(we.endpoint().ports()).containsEntry("http", 9080);
      assertThat(we.endpoint().labels()).containsEntry("app", "api").containsEntry("version", "v1");
      assertThat(we.endpoint().weight()).isEqualTo(5);
    }
    var byName = (Policy.WorkloadEntry) PolicyParser.parse("we.yaml", workloadEntry("vm-2", "v2",
        "address: vm-2.example.internal")).policies().getFirst();
    assertThat(byName.endpoint().address()).isEqualTo("vm-2.example.internal");
  }

  @Test
  void refusesWhatItDoesNotActOnByFieldPath() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-1 }
        spec:
          address: "not an address"
          ports: { http: 0 }
          network: vpc-1
          locality: us-east//a
          serviceAccount: API_1
        """)).containsExactlyInAnyOrder(
        "bad.yaml: WorkloadEntry/vm-1: spec.address: 'not an address' is neither an IP address nor a DNS name",
        "bad.yaml: WorkloadEntry/vm-1: spec.ports.http: '0' is not a port; expected a number from 1 to 65535",
        "bad.yaml: WorkloadEntry/vm-1: spec.network: networks (Istio's multi-network mesh, reached through east-west"
            + " gateways) are not supported: sidecars connect to every endpoint directly; expected the field removed"
            + " (one network)",
        "bad.yaml: WorkloadEntry/vm-1: spec.locality: 'us-east//a' is not a locality: '' is not a region, zone or"
            + " subzone name (letters, digits, '-', '_', '.'; no empty part, no '*')",
        "bad.yaml: WorkloadEntry/vm-1: spec.serviceAccount: 'API_1' is not a service account name; expected lower-case"
            + " letters, digits, '-' and '.' (a Kubernetes name, e.g. vm-api)");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-1 }
        spec:
          ports: { http: 8080 }
        """)).containsExactly("bad.yaml: WorkloadEntry/vm-1: spec.address: is required");
  }

  /** A VM with a sidecar: the tlsMode label, its service account (in its namespace) and its locality are kept. */
  @Test
  void keepsTheIstioTlsModeServiceAccountAndLocalityOfAWorkloadEntryOrAnEndpoint() throws Exception {
    var we = (Policy.WorkloadEntry) PolicyParser.parse("we.yaml", """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-1, namespace: shop }
        spec:
          address: 192.0.2.10
          labels: { app: api, security.istio.io/tlsMode: istio }
          serviceAccount: vm-api
          locality: us-east1/us-east1-b
        """).policies().getFirst();
    assertThat(we.endpoint().meshTls()).isTrue();
    assertThat(we.endpoint().identity()).isEqualTo("shop/vm-api");
    assertThat(we.endpoint().locality()).isEqualTo(new Locality("us-east1", "us-east1-b", ""));
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", ENTRY.replace("workloadSelector: { labels: { app: api } }",
        "endpoints: [ { address: 192.0.2.10, labels: { security.istio.io/tlsMode: istio }, serviceAccount: vm,"
            + " locality: eu } ]")).policies().getFirst();
    assertThat(se.endpoints().getFirst().meshTls()).isTrue();
    assertThat(se.endpoints().getFirst().identity()).as("the entry's namespace, default").isEqualTo("default/vm");
    assertThat(se.endpoints().getFirst().locality()).isEqualTo(new Locality("eu", "", ""));
    var plain = (Policy.WorkloadEntry) PolicyParser.parse("we.yaml", workloadEntry("vm-1", "v1", "address: 192.0.2.10")
        .replace("version: v1", "version: v1, security.istio.io/tlsMode: disabled")).policies().getFirst();
    assertThat(plain.endpoint().meshTls()).isFalse();
    assertThat(plain.endpoint().identity()).isNull();
  }

  @Test
  void workloadSelectorTakesLabelsAndNoEndpointsAndNeedsStaticOrDns() throws Exception {
    var se = (Policy.ServiceEntry) PolicyParser.parse("se.yaml", ENTRY).policies().getFirst();
    assertThat(se.workloadSelector()).containsExactly(java.util.Map.entry("app", "api"));
    assertThat(se.endpoints()).isEmpty();
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: vm-api }
        spec:
          hosts: [ api.vm.example ]
          resolution: STATIC
          ports: [ { number: 80, name: http } ]
          workloadSelector: { labels: {}, namespaces: [ x ] }
          endpoints: [ { address: 10.0.0.1 } ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: ServiceEntry/vm-api: spec.workloadSelector.labels: must name at least one label (the"
            + " WorkloadEntries' labels to select)",
        "bad.yaml: ServiceEntry/vm-api: spec.workloadSelector.namespaces: unknown field; expected one of labels",
        "bad.yaml: ServiceEntry/vm-api: spec.workloadSelector: only one of workloadSelector or endpoints is allowed"
            + " (as Istio); expected endpoints listed inline or selected WorkloadEntries");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: vm-api }
        spec:
          hosts: [ api.vm.example ]
          ports: [ { number: 80, name: http } ]
          workloadSelector: { labels: { app: api } }
        """)).containsExactly("bad.yaml: ServiceEntry/vm-api: spec.workloadSelector: resolution NONE takes no"
        + " selected endpoints; expected resolution STATIC (WorkloadEntries with IP addresses) or DNS");
  }

  @Test
  void selectedWorkloadEntriesAreTheEntrysEndpointsInNameOrder() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("a.yaml", ENTRY + "---\n"
        + workloadEntry("vm-b", "v2", "address: 192.0.2.11") + "---\n"
        + workloadEntry("vm-a", "v1", "address: 192.0.2.10\nports: { http: 9080 }") + "---\n"
        + """
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: { name: other }
            spec: { address: 192.0.2.99, labels: { app: other } }
            """).policies(), false);
    var se = store.current().ofType(Policy.ServiceEntry.class).getFirst();
    var endpoints = WorkloadEntries.endpoints(store.current(), se);
    assertThat(endpoints).extracting(Policy.EntryEndpoint::address).containsExactly("192.0.2.10", "192.0.2.11");
    assertThat(endpoints).extracting(ep -> ep.portFor(se.port(80))).containsExactly(9080, 8080);
  }

  @Test
  void aSelectedWorkloadEntryMustNameTheEntrysPortsAndHaveAnIpForStatic() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("se.yaml", ENTRY).policies(), false);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("we.yaml",
        workloadEntry("vm-1", "v1", "address: vm-1.example.internal\nports: { grpc: 9090 }")).policies(), false))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .containsExactlyInAnyOrder(
                "we.yaml: WorkloadEntry/vm-1: spec.ports.grpc: ServiceEntry/vm-api selects this WorkloadEntry and has"
                    + " no port named 'grpc'; expected one of [http]",
                "we.yaml: WorkloadEntry/vm-1: spec.address: 'vm-1.example.internal' is not an IP address and"
                    + " ServiceEntry/vm-api (resolution STATIC) selects this WorkloadEntry; expected an IP address, or"
                    + " resolution DNS on the entry"));
    // The other way round: an entry applied after the WorkloadEntry it would select.
    PolicyStore later = new PolicyStore();
    later.apply(PolicyParser.parse("we.yaml", workloadEntry("vm-1", "v1", "address: vm-1.example.internal"))
        .policies(), false);
    assertThatThrownBy(() -> later.apply(PolicyParser.parse("se.yaml", ENTRY).policies(), false))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .containsExactly("we.yaml: WorkloadEntry/vm-1: spec.address: 'vm-1.example.internal' is not an IP address"
                + " and ServiceEntry/vm-api (resolution STATIC) selects this WorkloadEntry; expected an IP address, or"
                + " resolution DNS on the entry"));
  }

  @Test
  void anEntrySelectsOnlyTheWorkloadEntriesOfItsOwnNamespaceAndChecksOnlyThose() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("a.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: vm-api, namespace: shop }
        spec:
          hosts: [ api.vm.example ]
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          workloadSelector: { labels: { app: api } }
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-1, namespace: shop }
        spec: { address: 192.0.2.10, labels: { app: api }, serviceAccount: vm-api }
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: evil, namespace: other }
        spec: { address: evil.example.internal, ports: { grpc: 9090 }, labels: { app: api }, serviceAccount: evil }
        """).policies(), false); // evil's name address and port would be refused were it selected
    var se = store.current().ofType(Policy.ServiceEntry.class).getFirst();
    assertThat(se.writtenNamespace()).isEqualTo("shop");
    assertThat(WorkloadEntries.endpoints(store.current(), se)).extracting(Policy.EntryEndpoint::identity)
        .containsExactly("shop/vm-api");
  }

  @Test
  void localityFailoverOnADnsEntryWhoseEndpointsHaveLocalitiesIsRefusedAtTheDestinationRule() throws Exception {
    String entry = """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: db }
        spec:
          hosts: [ db.example ]
          resolution: DNS
          ports: [ { number: 5432, name: tcp, protocol: TCP } ]
          endpoints:
          - { address: db-a.example, locality: us-west/a }
          - { address: db-b.example, locality: us-west/b }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: db }
        spec:
          host: db.example
          trafficPolicy:
            outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s }
        %s""";
    assertThatThrownBy(() -> new PolicyStore().apply(PolicyParser.parse("db.yaml", entry.formatted(""))
        .policies(), false))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .containsExactly("db.yaml: DestinationRule/db: spec.trafficPolicy.outlierDetection: ServiceEntry/db"
                + " resolves by DNS and its endpoints have localities: locality failover applies to STATIC (EDS)"
                + " entries only; expected resolution STATIC on the entry, its endpoints without locality, or"
                + " localityLbSetting enabled: false"));
    // Turned off for the host: what Keelson sends is what the rule says.
    new PolicyStore().apply(PolicyParser.parse("db.yaml", entry.formatted(
        "    loadBalancer: { localityLbSetting: { enabled: false } }\n")).policies(), false);
  }
}
