package io.keelson.control.xds;

import static io.keelson.control.xds.ServiceEntryTranslationTest.assignment;
import static io.keelson.control.xds.ServiceEntryTranslationTest.endpoints;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A ServiceEntry's {@code workloadSelector}: its clusters' endpoints are the WorkloadEntries whose labels match, at
 * their named port (else the entry port's targetPort or number), with their weight, by DestinationRule subset label,
 * and follow WorkloadEntries applied and deleted.
 */
class WorkloadEntryTranslationTest {
  private static final String ENTRY = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: vm-api }
      spec:
        hosts: [ api.vm.example ]
        location: MESH_INTERNAL
        resolution: STATIC
        ports:
        - { number: 80, name: http, protocol: HTTP, targetPort: 8080 }
        - { number: 5432, name: db, protocol: TCP }
        workloadSelector: { labels: { app: api } }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: vm-api }
      spec:
        host: api.vm.example
        subsets: [ { name: v2, labels: { version: v2 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-1 }
      spec:
        address: 192.0.2.10
        ports: { http: 9080 }
        labels: { app: api, version: v1 }
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-2 }
      spec:
        address: 192.0.2.11
        labels: { app: api, version: v2 }
        weight: 3
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: not-selected }
      spec: { address: 192.0.2.99, labels: { app: web } }
      """;

  private static MeshResources translate(PolicyStore store) {
    return new MeshTranslator(15001, false).translate(store.current(), List.of());
  }

  @Test
  void selectedWorkloadEntriesAreTheClustersEndpointsBySubsetPortAndWeight() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY).policies(), false);
    MeshResources r = translate(store);

    Cluster http = Mesh.cluster(r, "outbound|80||api.vm.example");
    assertThat(http.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(endpoints(r, "outbound|80||api.vm.example")).containsExactly("192.0.2.10:9080", "192.0.2.11:8080");
    assertThat(assignment(r, "outbound|80||api.vm.example").getEndpoints(0).getLbEndpoints(1).getLoadBalancingWeight().getValue())
        .isEqualTo(3);
    assertThat(endpoints(r, "outbound|5432||api.vm.example"))
        .containsExactly("192.0.2.10:5432", "192.0.2.11:5432");
    assertThat(endpoints(r, "outbound|80|v2|api.vm.example")).containsExactly("192.0.2.11:8080");
    Mesh.dataPlane(r); // the data plane takes it
  }

  @Test
  void appliedAndDeletedWorkloadEntriesChangeTheEndpoints() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY).policies(), false);
    store.delete("WorkloadEntry", "vm-1", false);
    store.delete("WorkloadEntry", "vm-2", false);
    assertThat(endpoints(translate(store), "outbound|80||api.vm.example")).isEmpty(); // nothing selected: no endpoints, not the host name
    store.apply(PolicyParser.parse("vm3.yaml", """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-3 }
        spec: { address: 192.0.2.12, labels: { app: api } }
        """).policies(), false);
    assertThat(endpoints(translate(store), "outbound|80||api.vm.example"))
        .containsExactly("192.0.2.12:8080");
  }

  @Test
  void workloadEntryChangesAreEdsPushesOnly() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY).policies(), false);
    MeshTranslator translator = new MeshTranslator(15001, false);
    MeshResources before = translator.translate(store.current(), List.of());
    store.apply(PolicyParser.parse("vm3.yaml", """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-3 }
        spec: { address: 192.0.2.12, labels: { app: api, version: v2 } }
        """).policies(), false);
    MeshResources added = translator.translate(store.current(), List.of());
    assertThat(endpoints(added, "outbound|80|v2|api.vm.example")).containsExactly("192.0.2.11:8080", "192.0.2.12:8080");
    store.apply(PolicyParser.parse("vm1.yaml", """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-1 }
        spec: { address: 192.0.2.10, ports: { http: 9080 }, labels: { app: api, version: v2 } }
        """).policies(), false);
    store.delete("WorkloadEntry", "vm-2", false);
    MeshResources relabelled = translator.translate(store.current(), List.of());
    assertThat(endpoints(relabelled, "outbound|80|v2|api.vm.example"))
        .containsExactly("192.0.2.10:9080", "192.0.2.12:8080");

    for (MeshResources after : List.of(added, relabelled)) {
      assertThat(after.clusters()).isEqualTo(before.clusters()); // no cluster re-created: connection pools kept
      assertThat(after.clustersVersion()).isEqualTo(before.clustersVersion());
      assertThat(after.listenersVersion()).isEqualTo(before.listenersVersion());
      assertThat(after.routesVersion()).isEqualTo(before.routesVersion());
    }
    assertThat(List.of(before.endpointsVersion(), added.endpointsVersion(), relabelled.endpointsVersion()))
        .doesNotHaveDuplicates();
    Mesh.dataPlane(relabelled); // the data plane takes the EDS clusters with their assignments
  }

  @Test
  void dnsEntriesTakeWorkloadEntriesByName() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("dns.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: vm-db }
        spec:
          hosts: [ db.vm.example ]
          resolution: DNS
          ports: [ { number: 5432, name: db, protocol: TCP } ]
          workloadSelector: { labels: { app: db } }
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: db-1 }
        spec: { address: localhost, labels: { app: db }, ports: { db: 15432 } }
        """).policies(), false);
    MeshResources r = translate(store);
    Cluster db = Mesh.cluster(r, "outbound|5432||db.vm.example");
    assertThat(db.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(endpoints(r, "outbound|5432||db.vm.example")).containsExactly("localhost:15432");
  }

  @Test
  void workloadEntriesSurviveARestartFromTheDataDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    PolicyStore first = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    first.apply(PolicyParser.parse("vm.yaml", ENTRY).policies(), false);
    PolicyStore again = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    assertThat(again.current().get("WorkloadEntry", "vm-1")).isEqualTo(first.current().get("WorkloadEntry", "vm-1"));
    assertThat(again.current().get("ServiceEntry", "vm-api")).isEqualTo(first.current().get("ServiceEntry", "vm-api"));
    assertThat(endpoints(translate(again), "outbound|80||api.vm.example"))
        .containsExactly("192.0.2.10:9080", "192.0.2.11:8080");
  }
}
