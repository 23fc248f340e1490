package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.ServiceEntryEndToEndTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * WorkloadEntry localities through a real sidecar: two "VMs" (local servers) registered by WorkloadEntries in zones
 * r1/a and r1/b behind one ServiceEntry host with outlierDetection; a client sidecar in zone r1/a keeps its calls in
 * zone a (priority 0) and fails over to zone b once the zone-a VM stops and is ejected, as for registry Services.
 */
class WorkloadEntryLocalityEndToEndTest {
  private static final String ENTRY = WorkloadEntryMeshMtlsEndToEndTest.vmEntry("frontend") + """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: api }
      spec:
        host: api.vm.test
        trafficPolicy:
          outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-a, namespace: shop }
      spec: { address: 127.0.0.1, ports: { http: %d }, labels: { app: api }, locality: r1/a }
      ---
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata: { name: vm-b, namespace: shop }
      spec: { address: 127.0.0.1, ports: { http: %d }, labels: { app: api }, locality: r1/b }
      """;

  @Test
  void aCallerStaysOnTheVmInItsZoneAndFailsOverToTheOtherZoneWhenItStops() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService a = new SampleService("api", "a").start("127.0.0.1", 0);
        SampleService b = new SampleService("api", "b").start("127.0.0.1", 0);
        Sidecar client = LocalityEndToEndTest.sidecar(cp, "frontend", 1, "r1/a")) {
      cp.store.apply(PolicyParser.parse("vm.yaml", ENTRY.formatted(a.port(), b.port())).policies(), false);
      int outbound = client.outboundAddress().getPort();

      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> served(outbound, "api.vm.test", null, 1).containsKey("api-a"));
      assertThat(served(outbound, "api.vm.test", null, 30)).as("zone a at priority 0").isEqualTo(Map.of("api-a", 30));

      a.close(); // its failure ejects it; every call then fails over to zone b
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> served(outbound, "api.vm.test", null, 5).equals(Map.of("api-b", 5)));
      assertThat(served(outbound, "api.vm.test", null, 30)).isEqualTo(Map.of("api-b", 30));
    }
  }
}
