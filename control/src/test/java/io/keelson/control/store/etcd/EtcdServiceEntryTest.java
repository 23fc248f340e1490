package io.keelson.control.store.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ServiceEntry (and a WorkloadEntry) applied at one control-plane replica is stored in etcd and served by another (a
 * real etcd).
 */
class EtcdServiceEntryTest {
  @TempDir
  Path caDir;

  @Test
  void aServiceEntryAppliedAtOneReplicaReachesTheOther() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null,
        "the etcd binary is not on PATH (apt-get install etcd-server etcd-client)");
    try (EtcdProcess etcd = new EtcdProcess(); ControlPlane a = replica(etcd); ControlPlane b = replica(etcd)) {
      a.store.apply(PolicyParser.parse("se.yaml", """
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: api }
          spec:
            hosts: [ api.example.com ]
            resolution: DNS
            ports: [ { number: 443, name: https, protocol: HTTPS } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> b.store.current().get("ServiceEntry", "api") != null);
      Policy.ServiceEntry se = (Policy.ServiceEntry) b.store.current().get("ServiceEntry", "api");
      assertThat(se.hosts()).containsExactly("api.example.com");
      assertThat(se.ports().getFirst().protocol()).isEqualTo(Policy.Protocol.TLS);
    }
  }

  @Test
  void aWorkloadEntryAppliedAndDeletedAtOneReplicaReachesTheOther() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null,
        "the etcd binary is not on PATH (apt-get install etcd-server etcd-client)");
    try (EtcdProcess etcd = new EtcdProcess(); ControlPlane a = replica(etcd); ControlPlane b = replica(etcd)) {
      a.store.apply(PolicyParser.parse("vm.yaml", """
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: vm-api }
          spec:
            hosts: [ api.vm.example ]
            addresses: [ 10.99.0.7 ]
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP } ]
            workloadSelector: { labels: { app: api } }
          ---
          apiVersion: networking.istio.io/v1beta1
          kind: WorkloadEntry
          metadata: { name: vm-1 }
          spec: { address: 192.0.2.10, ports: { http: 9080 }, labels: { app: api } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> b.store.current().get("WorkloadEntry", "vm-1") != null);
      Policy.WorkloadEntry we = (Policy.WorkloadEntry) b.store.current().get("WorkloadEntry", "vm-1");
      assertThat(we.endpoint().address()).isEqualTo("192.0.2.10");
      assertThat(we.endpoint().ports()).containsEntry("http", 9080);
      await().atMost(Duration.ofSeconds(10)).until(() -> b.store.current().get("ServiceEntry", "vm-api") != null);
      Policy.ServiceEntry se = (Policy.ServiceEntry) b.store.current().get("ServiceEntry", "vm-api");
      assertThat(se.addresses()).containsExactly("10.99.0.7");
      assertThat(se.workloadSelector()).containsEntry("app", "api");
      a.store.delete("WorkloadEntry", "vm-1", false);
      await().atMost(Duration.ofSeconds(10)).until(() -> b.store.current().get("WorkloadEntry", "vm-1") == null);
    }
  }

  @Test
  void aServiceEntryOfANamespaceStoredUnderItsKeyFromBeforeNamespacesLoadsReKeyed() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null,
        "the etcd binary is not on PATH (apt-get install etcd-server etcd-client)");
    try (EtcdProcess etcd = new EtcdProcess(); ControlPlane a = replica(etcd)) {
      EtcdClient hand = new EtcdClient(etcd.endpoints(), Duration.ofSeconds(2));
      // As a replica stored it when ServiceEntries were not namespaced: under ServiceEntry/NAME.
      hand.put("/se-test/policies/ServiceEntry/api", """
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: api, namespace: shop }
          spec:
            hosts: [ api.example.com ]
            resolution: DNS
            ports: [ { number: 443, name: https, protocol: HTTPS } ]
          """, 0);
      await().atMost(Duration.ofSeconds(10)).until(() -> a.store.current().byKey()
          .containsKey("ServiceEntry/shop/api"));
      assertThat(a.store.current().byKey()).doesNotContainKey("ServiceEntry/api");
      assertThat(a.etcd.lastError()).isNull();
    }
  }

  private ControlPlane replica(EtcdProcess etcd) throws Exception {
    return ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        io.keelson.control.ca.CaOptions.selfSigned(caDir), -1)
        .withEtcd(new EtcdStore.Options(etcd.endpoints(), "/se-test/", Duration.ofSeconds(2), Duration.ofSeconds(5),
            EtcdStore.Options.defaultReplicaId())));
  }
}
