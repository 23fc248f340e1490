package io.keelson.control.xds;

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
    assertThat(http.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(endpoints(http)).containsExactly("192.0.2.10:9080", "192.0.2.11:8080");
    assertThat(http.getLoadAssignment().getEndpoints(0).getLbEndpoints(1).getLoadBalancingWeight().getValue())
        .isEqualTo(3);
    assertThat(endpoints(Mesh.cluster(r, "outbound|5432||api.vm.example")))
        .containsExactly("192.0.2.10:5432", "192.0.2.11:5432");
    assertThat(endpoints(Mesh.cluster(r, "outbound|80|v2|api.vm.example"))).containsExactly("192.0.2.11:8080");
    Mesh.dataPlane(r); // the data plane takes it
  }

  @Test
  void appliedAndDeletedWorkloadEntriesChangeTheEndpoints() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("vm.yaml", ENTRY).policies(), false);
    store.delete("WorkloadEntry", "vm-1", false);
    store.delete("WorkloadEntry", "vm-2", false);
    Cluster none = Mesh.cluster(translate(store), "outbound|80||api.vm.example");
    assertThat(endpoints(none)).isEmpty(); // nothing selected: no endpoints, not the host name
    store.apply(PolicyParser.parse("vm3.yaml", """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-3 }
        spec: { address: 192.0.2.12, labels: { app: api } }
        """).policies(), false);
    assertThat(endpoints(Mesh.cluster(translate(store), "outbound|80||api.vm.example")))
        .containsExactly("192.0.2.12:8080");
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
    Cluster db = Mesh.cluster(translate(store), "outbound|5432||db.vm.example");
    assertThat(db.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(endpoints(db)).containsExactly("localhost:15432");
  }

  @Test
  void workloadEntriesSurviveARestartFromTheDataDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    PolicyStore first = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    first.apply(PolicyParser.parse("vm.yaml", ENTRY).policies(), false);
    PolicyStore again = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    assertThat(again.current().get("WorkloadEntry", "vm-1")).isEqualTo(first.current().get("WorkloadEntry", "vm-1"));
    assertThat(again.current().get("ServiceEntry", "vm-api")).isEqualTo(first.current().get("ServiceEntry", "vm-api"));
    assertThat(endpoints(Mesh.cluster(translate(again), "outbound|80||api.vm.example")))
        .containsExactly("192.0.2.10:9080", "192.0.2.11:8080");
  }
}
