package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.control.sidecar.CapturedServiceEntryTest.HELLO;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.testkit.Shell.Result;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntry {@code addresses} through a captured sidecar with DNS capture, end to end, under REGISTRY_ONLY: a "VM"
 * outside the mesh (10.77.2.2, no sidecar: TCP servers on :7000 and :7001) is a WorkloadEntry selected by a TCP
 * ServiceEntry with a virtual IP, and the endpoint of two more (a virtual IP on the same port, a CIDR range).
 *
 * <pre>
 * client ns (10.77.1.2: iptables --redirect-dns, captured sidecar --dns-capture, app as uid 65534)
 *   ── cp ns (10.77.1.1, bin/keelson control REGISTRY_ONLY) ── vm ns (10.77.2.2)
 * </pre>
 *
 * Shown: the app resolves the entry's host through its own resolver to the entry's address (the sidecar's DNS proxy)
 * and reaches the VM by that name and by the address; a second TCP entry on the same port is told apart by its
 * address; an address in the CIDR range of a third entry reaches that entry's port;
 * the VM's own address on the entry's port is no entry's address, so REGISTRY_ONLY blocks it. Skipped, with the reason
 * printed, without root or the tools; the namespaces are removed even when the test fails.
 */
class CapturedServiceEntryAddressesTest {
  /** Connects to argv[1]:argv[2] (a name is resolved by the app's resolver) and prints what the server says. */
  private static final String TCP_CLIENT = """
      import socket, sys
      try:
          s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
          print("got:" + s.recv(100).decode().strip())
      except Exception as e:
          print("failed:" + type(e).__name__)
      """;
  private static final String POLICIES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: vm-db }
      spec:
        hosts: [ db.vm.test ]
        addresses: [ 10.99.0.7 ]
        location: MESH_INTERNAL
        resolution: STATIC
        ports: [ { number: 7000, name: tcp, protocol: TCP } ]
        workloadSelector: { labels: { app: db } }
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-1 }
      spec: { address: 10.77.2.2, labels: { app: db } }
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: vm-cache }
      spec:
        hosts: [ cache.vm.test ]
        addresses: [ 10.99.0.8 ]
        resolution: STATIC
        ports: [ { number: 7000, name: tcp, protocol: TCP } ]
        endpoints: [ { address: 10.77.2.2, ports: { tcp: 7001 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: vm-range }
      spec:
        hosts: [ range.vm.test ]
        addresses: [ 10.98.0.0/16 ]
        resolution: STATIC
        ports: [ { number: 7001, name: tcp, protocol: TCP } ]
        endpoints: [ { address: 10.77.2.2 } ]
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void aTcpEntryIsReachedByItsAddressAndByItsNameThroughTheDnsProxy() throws Exception {
    m = CapturedMesh.create("CapturedServiceEntryAddressesTest", "getent");
    m.topology(1);
    String vm = m.server(0);
    // No resolver answers at 10.77.1.1: every answer the app gets is the sidecar's.
    m.resolvConf(m.client, "nameserver 10.77.1.1\noptions ndots:1 timeout:2 attempts:1\n");
    Files.writeString(m.dir.resolve("policies.yaml"), POLICIES);
    m.start(m.cp, "control", CapturedMesh.keelson("control", "--bind", "10.77.1.1", "--xds-port", "15010",
        "--api-port", "15014", "--config-dir", m.dir.toString(), "--outbound-traffic-policy", "REGISTRY_ONLY"));
    Process iptables = m.start(m.client, "iptables", CapturedMesh.keelson("iptables", "--proxy-uid", "0",
        "--redirect-dns"));
    assertThat(iptables.waitFor(60, TimeUnit.SECONDS) && iptables.exitValue() == 0).as(m.logs()).isTrue();
    m.start(vm, "hello", appUser(PYTHON, "-c", HELLO));
    m.awaitRootPem();
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(List.of("--xds", "10.77.1.1:15010"), "frontend", "8000",
        "10.77.1.2", "--dns-capture"));
    m.awaitOutput(m.client, "0.0.0.0_7000::0.0.0.0:7000", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(m.client, "db.vm.test", "curl", "-s", "http://127.0.0.1:9901/config_dump");
    // The VM answers directly (root in the client namespace is not captured).
    assertThat(run(in(m.client, PYTHON, "-c", TCP_CLIENT, "10.77.2.2", "7000"), 20).out())
        .contains("got:hello from 7000");

    // The name, through the app's own resolver: the entry's address, from the sidecar's DNS proxy.
    Result resolved = run(in(m.client, appUser("getent", "hosts", "db.vm.test")), 20);
    assertThat(resolved.out().strip().split("\\s+")[0]).as(resolved.out() + m.logs()).isEqualTo("10.99.0.7");
    // By name and by address: the entry's chain, to the WorkloadEntry VM.
    assertThat(app("db.vm.test", "7000").out()).as(m.logs()).contains("got:hello from 7000");
    assertThat(app("10.99.0.7", "7000").out()).contains("got:hello from 7000");
    assertThat(m.stat(m.client, "cluster.outbound|7000||db.vm.test.upstream_cx_total")).isEqualTo(2);
    // Another TCP entry on the same port, told apart by its address: its endpoint (the VM's :7001).
    assertThat(app("cache.vm.test", "7000").out()).as(m.logs()).contains("got:hello from 7001");
    assertThat(m.stat(m.client, "cluster.outbound|7000||cache.vm.test.upstream_cx_total")).isEqualTo(1);
    // Any address of the other entry's CIDR range, on its port.
    assertThat(app("10.98.3.4", "7001").out()).as(m.logs()).contains("got:hello from 7001");
    assertThat(m.stat(m.client, "cluster.outbound|7001||range.vm.test.upstream_cx_total")).isEqualTo(1);
    // The VM's own address on the entry's port is no entry's address: REGISTRY_ONLY blocks it.
    assertThat(app("10.77.2.2", "7000").out()).doesNotContain("got:hello");
    assertThat(m.stat(m.client, "cluster.BlackHoleCluster.upstream_rq_no_healthy_upstream")).as(m.logs())
        .isGreaterThanOrEqualTo(1);
    assertThat(m.stat(m.client, "dns.answered")).isPositive();
  }

  private Result app(String host, String port) {
    return run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT, host, port)), 20);
  }
}
