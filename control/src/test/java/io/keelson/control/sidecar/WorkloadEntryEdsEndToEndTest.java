package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.xds.ResourceType;
import io.keelson.dataplane.xds.XdsStats;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntry endpoints over EDS, end to end: a real control plane, a real sidecar, and "VMs" that are JDK HTTP
 * servers outside the mesh answering with their name and the sidecar's source port (which upstream connection served
 * the request). A WorkloadEntry applied live is reached with no CDS push, and the sidecar's kept-alive upstream
 * connection to the first VM survives the change (a CDS push would re-create the cluster and drop its pool); a STATIC
 * entry with an IPv6 address whose WorkloadEntry is IPv6 loopback {@code ::1} is reached through the sidecar by its
 * host and by its address as Host.
 */
class WorkloadEntryEdsEndToEndTest {
  /** An HTTP/1.1 server answering {@code x-served-by: name} and {@code x-peer-port}: the caller's source port. */
  private static HttpServer vm(String name, String address) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress(address, 0), 16);
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      byte[] body = (name + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("x-served-by", name);
      exchange.getResponseHeaders().set("x-peer-port", Integer.toString(exchange.getRemoteAddress().getPort()));
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    return server;
  }

  private static String workloadEntry(String name, String address, int port) {
    return """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: %s }
        spec:
          address: "%s"
          ports: { http: %d }
          labels: { app: api }
        """.formatted(name, address, port);
  }

  /**
   * The caller's Service and a STATIC ServiceEntry {@code host} on HTTP port 80 with {@code addresses} selecting the
   * WorkloadEntries labelled {@code app: api}, then {@code vm}: the first WorkloadEntry.
   */
  private static String entry(String host, String addresses, String vm) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: frontend }
        spec:
          ports: [ { name: http, port: 80 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api }
        spec:
          hosts: [ %s ]
          addresses: %s
          location: MESH_INTERNAL
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          workloadSelector: { labels: { app: api } }
        ---
        """.formatted(host, addresses) + vm;
  }

  private static RawHttp.Response get(RawHttp http, String host) throws Exception {
    return http.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
  }

  @Test
  void aWorkloadEntryAppliedLiveIsAnEdsChangeThatKeepsTheClusterAndItsConnections() throws Exception {
    HttpServer vm1 = vm("vm-1", "127.0.0.1");
    HttpServer vm2 = vm("vm-2", "127.0.0.1");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("vm.yaml", entry("api.vm.test", "[]",
          workloadEntry("vm-1", "127.0.0.1", vm1.getAddress().getPort()))).policies(), false);

      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> SidecarEndToEndTest.servedBy(outbound, "api.vm.test", 1).containsKey("vm-1"));
      try (RawHttp kept = new RawHttp(outbound)) {
        RawHttp.Response first = get(kept, "api.vm.test");
        assertThat(first.header("x-served-by")).isEqualTo("vm-1");
        String upstream = first.header("x-peer-port");
        assertThat(get(kept, "api.vm.test").header("x-peer-port")).as("a kept-alive upstream connection")
            .isEqualTo(upstream);
        XdsStats before = client.xds().stats();

        cp.store.apply(PolicyParser.parse("vm-2.yaml", workloadEntry("vm-2", "127.0.0.1", vm2.getAddress().getPort()))
            .policies(), false);
        Set<String> upstreamsOfVm1 = new HashSet<>();
        Set<String> servedBy = new HashSet<>();
        await().atMost(Duration.ofSeconds(15)).until(() -> {
          RawHttp.Response r = get(kept, "api.vm.test");
          assertThat(r.status()).isEqualTo(200);
          servedBy.add(r.header("x-served-by"));
          if (r.header("x-served-by").equals("vm-1")) {
            upstreamsOfVm1.add(r.header("x-peer-port"));
          }
          return servedBy.contains("vm-2") && upstreamsOfVm1.size() > 0;
        });
        for (int i = 0; i < 6; i++) { // round robin or least request: vm-1 answers again, on the same connection
          RawHttp.Response r = get(kept, "api.vm.test");
          if (r.header("x-served-by").equals("vm-1")) {
            upstreamsOfVm1.add(r.header("x-peer-port"));
          }
        }

        XdsStats after = client.xds().stats();
        assertThat(after.accepted(ResourceType.ENDPOINT)).isGreaterThan(before.accepted(ResourceType.ENDPOINT));
        assertThat(after.versions().get(ResourceType.CLUSTER)).as("no CDS push for a WorkloadEntry")
            .isEqualTo(before.versions().get(ResourceType.CLUSTER));
        assertThat(after.accepted(ResourceType.CLUSTER)).isEqualTo(before.accepted(ResourceType.CLUSTER));
        assertThat(upstreamsOfVm1).as("vm-1's upstream connection kept across the change").containsOnly(upstream);
      }
    } finally {
      vm1.stop(0);
      vm2.stop(0);
    }
  }

  @Test
  void anIpv6WorkloadEntryIsReachedByTheHostAndByItsIpv6Address() throws Exception {
    HttpServer vm = vm("vm-6", "::1");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("vm6.yaml", entry("api6.vm.test", "[ \"2001:db8::20\" ]",
          workloadEntry("vm-6", "::1", vm.getAddress().getPort()))).policies(), false);

      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> SidecarEndToEndTest.servedBy(outbound, "api6.vm.test", 1).containsKey("vm-6"));
      assertThat(SidecarEndToEndTest.servedBy(outbound, "api6.vm.test", 3)).containsOnly(Map.entry("vm-6", 3));
      // The entry's IPv6 VIP as Host, as an app that dialled the address writes it.
      assertThat(SidecarEndToEndTest.servedBy(outbound, "[2001:db8::20]", 2)).containsOnly(Map.entry("vm-6", 2));
      assertThat(SidecarEndToEndTest.servedBy(outbound, "[2001:db8::20]:80", 2)).containsOnly(Map.entry("vm-6", 2));
    } finally {
      vm.stop(0);
    }
  }
}
