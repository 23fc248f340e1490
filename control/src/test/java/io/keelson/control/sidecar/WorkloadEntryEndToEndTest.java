package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.ServiceEntryEndToEndTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.OutboundTrafficPolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * WorkloadEntries end to end: a real control plane and a real sidecar; the "VMs" are local HTTP servers outside the
 * mesh, registered as WorkloadEntries and selected by a ServiceEntry's {@code workloadSelector}. The app calls the
 * entry's host through its sidecar; WorkloadEntries applied and deleted through the HTTP API change who answers, and
 * a DestinationRule subset by a WorkloadEntry label routes a header to one VM.
 */
class WorkloadEntryEndToEndTest {
  private static String workloadEntry(String name, String version, int port) {
    return """
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: { name: %s }
        spec:
          address: 127.0.0.1
          ports: { http: %d }
          labels: { app: api, version: %s }
        """.formatted(name, port, version);
  }

  @Test
  void anAppReachesWorkloadEntriesByTheEntrysHostAndFollowsThemLive() throws Exception {
    var options = new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001)
        .withOutboundTrafficPolicy(OutboundTrafficPolicy.REGISTRY_ONLY);
    try (ControlPlane cp = ControlPlane.start(options);
        SampleService vm1 = new SampleService("api", "v1").start("127.0.0.1", 0);
        SampleService vm2 = new SampleService("api", "v2").start("127.0.0.1", 0);
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("vm.yaml", """
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
            hosts: [ api.vm.test ]
            location: MESH_INTERNAL
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP } ]
            workloadSelector: { labels: { app: api } }
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: api }
          spec:
            host: api.vm.test
            subsets: [ { name: v2, labels: { version: v2 } } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: api }
          spec:
            hosts: [ api.vm.test ]
            http:
            - match: [ { headers: { x-version: { exact: v2 } } } ]
              route: [ { destination: { host: api.vm.test, subset: v2 } } ]
            - route: [ { destination: { host: api.vm.test } } ]
          ---
          """ + workloadEntry("vm-1", "v1", vm1.port())).policies(), false);

      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> served(outbound, "api.vm.test", null, 1).containsKey("api-v1"));
      assertThat(served(outbound, "api.vm.test", null, 10)).containsOnly(Map.entry("api-v1", 10));
      // No WorkloadEntry has version v2 yet: the subset has no endpoints.
      assertThat(served(outbound, "api.vm.test", "v2", 2)).containsOnly(Map.entry("status 503", 2));

      // A second VM joins: the subset route reaches it, the default route both.
      cp.store.apply(PolicyParser.parse("vm-2.yaml", workloadEntry("vm-2", "v2", vm2.port())).policies(), false);
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> served(outbound, "api.vm.test", "v2", 1).containsKey("api-v2"));
      assertThat(served(outbound, "api.vm.test", "v2", 10)).containsOnly(Map.entry("api-v2", 10));
      await().atMost(Duration.ofSeconds(15))
          .until(() -> served(outbound, "api.vm.test", null, 20).keySet().equals(java.util.Set.of("api-v1", "api-v2")));

      // `bin/keelson get/delete workloadentry` (the HTTP API behind them): vm-1 leaves, only vm-2 answers.
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + cp.api.port() + "/v1/resources/";
      var got = http.send(HttpRequest.newBuilder(URI.create(base + "workloadentry/vm-1")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(got.statusCode()).as(got.body()).isEqualTo(200);
      assertThat(got.body()).contains("\"kind\" : \"WorkloadEntry\"").contains("127.0.0.1");
      var deleted = http.send(HttpRequest.newBuilder(URI.create(base + "we/vm-1")).DELETE().build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(15))
          .until(() -> served(outbound, "api.vm.test", null, 10).equals(Map.of("api-v2", 10)));
    }
  }
}
