package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.ServiceEntryEndToEndTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A VM in the mesh, end to end: the "VM" is a Keelson sidecar with its own workload identity (shop/vm, by join token
 * on the secure port) in front of a local app, registered by a WorkloadEntry labelled
 * {@code security.istio.io/tlsMode: istio} with {@code serviceAccount: vm}; a second WorkloadEntry of the same entry is
 * a plain server outside the mesh. A client sidecar (shop/web) reaches the entry's host: over mesh mTLS to the VM (its
 * app sees the caller's SPIFFE ID in x-forwarded-client-cert), plaintext to the plain one; a WorkloadEntry claiming
 * another service account makes the caller refuse the VM's certificate (SAN mismatch) while the plain one still serves.
 */
class WorkloadEntryMeshMtlsEndToEndTest {
  private static final String WEB = "spiffe://cluster.local/ns/default/sa/web";
  private static final String VM = "spiffe://cluster.local/ns/shop/sa/vm";

  /** The caller's Service {@code caller} and ServiceEntry {@code api.vm.test} selecting WorkloadEntries {@code app: api}. */
  static String vmEntry(String caller) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: %s }
        spec:
          ports: [ { name: http, port: 80 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api, namespace: shop }
        spec:
          hosts: [ api.vm.test ]
          location: MESH_INTERNAL
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          workloadSelector: { labels: { app: api } }
        """.formatted(caller);
  }

  private static String entries(int vmPort, String vmAccount, int plainPort) {
    return vmEntry("web") + """
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: vm-1, namespace: shop }
        spec:
          address: 127.0.0.1
          ports: { http: %d }
          labels: { app: api, security.istio.io/tlsMode: istio }
          serviceAccount: %s
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: plain-1, namespace: shop }
        spec:
          address: 127.0.0.1
          ports: { http: %d }
          labels: { app: api }
        """.formatted(vmPort, vmAccount, plainPort);
  }

  @Test
  void aClientSidecarReachesAVmSidecarOverMeshMtlsByItsServiceAccountAndAPlainEndpointInTheSameEntry()
      throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService vmApp = new SampleService("api", "vm").start("127.0.0.1", 0);
        SampleService plain = new SampleService("api", "plain").start("127.0.0.1", 0);
        // The VM's sidecar: shop/vm, the WorkloadEntry's namespace and account (no Service of its own: it serves
        // nothing as a registry workload, and is reached through the entry).
        Sidecar vm = SidecarMtlsTest.secureProxy(cp, "shop", "vm", new SidecarBootstrap("127.0.0.1",
            cp.security.securePort().port(), "api-vm", Map.of(), vmApp.port(), 0, 0, "127.0.0.1", 0));
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1)) {
      int vmInbound = vm.inboundAddress().getPort();
      cp.store.apply(PolicyParser.parse("vm.yaml", entries(vmInbound, "vm", plain.port())).policies(), false);
      int outbound = web.outboundAddress().getPort();

      // Both endpoints answer by the entry's host: the VM through its sidecar, the plain server directly.
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> served(outbound, "api.vm.test", null, 4).keySet().equals(Set.of("api-vm", "api-plain")));
      assertThat(served(outbound, "api.vm.test", null, 10)).containsOnly(Map.entry("api-vm", 5),
          Map.entry("api-plain", 5));

      // The VM's app sees who called, as its sidecar verified it over mTLS; the plain server sees no certificate.
      String vmCaller = null;
      String plainCaller = "unset";
      try (RawHttp http = new RawHttp(outbound)) {
        for (int i = 0; i < 4; i++) {
          RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: api.vm.test\r\n\r\n").read();
          if ("api-vm".equals(r.header("x-served-by"))) {
            vmCaller = r.header("x-caller-cert");
          } else {
            plainCaller = r.header("x-caller-cert");
          }
        }
      }
      assertThat(vmCaller).startsWith("By=" + VM + ";Hash=").endsWith(";URI=" + WEB);
      assertThat(plainCaller).isNull();
      assertThat(vm.server().stats().tls("listener.inbound").handshake.sum()).as("the VM sidecar's mTLS handshakes")
          .isPositive();

      // The WorkloadEntry now claims another service account: the caller expects it, the VM's certificate says
      // sa/vm: every call to the VM is refused at the handshake; the plain endpoint still serves.
      var clientTls = web.server().stats().tls("cluster.outbound|80||api.vm.test");
      long sanFailuresBefore = clientTls.failVerifySan.sum();
      cp.store.apply(PolicyParser.parse("vm.yaml", entries(vmInbound, "someone-else", plain.port())).policies(), false);
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        Map<String, Integer> got = served(outbound, "api.vm.test", null, 4);
        assertThat(got).doesNotContainKey("api-vm").containsKey("api-plain");
        assertThat(clientTls.failVerifySan.sum()).isGreaterThan(sanFailuresBefore);
      });
      assertThat(served(outbound, "api.vm.test", null, 10)).containsOnlyKeys("api-plain", "status 503");
    }
  }
}
