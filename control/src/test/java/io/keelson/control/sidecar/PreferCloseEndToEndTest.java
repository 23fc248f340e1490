package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.LocalityEndToEndTest.apply;
import static io.keelson.control.sidecar.LocalityEndToEndTest.sidecar;
import static io.keelson.control.sidecar.SidecarEndToEndTest.servedBy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A Service's {@code trafficDistribution: PreferClose} through real sidecars, without any DestinationRule: two
 * reviews instances, each behind a sidecar registered with its node's locality (zones r1/a and r1/b), called by a
 * client sidecar in r1/a. Before the field both zones take calls; with it every call stays in zone a; when the zone-a
 * instance goes away (its sidecar disconnects, so its endpoint leaves) the calls go to zone b.
 */
class PreferCloseEndToEndTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { %sports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;

  @Test
  void callsStayInTheCallersZoneWhileItHasAnInstanceAndGoToTheOtherZoneWhenItGoesAway() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService a1 = new SampleService("reviews", "a1").start("127.0.0.1", 0);
        SampleService b1 = new SampleService("reviews", "b1").start("127.0.0.1", 0);
        Sidecar zoneB = sidecar(cp, "reviews", b1.port(), "r1/b");
        Sidecar client = sidecar(cp, "frontend", 1, "r1/a")) {
      Sidecar zoneA = sidecar(cp, "reviews", a1.port(), "r1/a");
      try {
        int outbound = client.outboundAddress().getPort();
        apply(cp, MESH.formatted(""));
        await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().keySet()
            .containsAll(java.util.List.of(zoneA.nodeId(), zoneB.nodeId())));
        // Without it (and without outlierDetection): one priority, both zones take calls.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
            .until(() -> servedBy(outbound, "reviews", 30).keySet().size() == 2);

        apply(cp, MESH.formatted("trafficDistribution: PreferClose, "));
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
            .until(() -> servedBy(outbound, "reviews", 30).equals(Map.of("reviews-a1", 30)));
        assertThat(servedBy(outbound, "reviews", 100)).isEqualTo(Map.of("reviews-a1", 100));
      } finally {
        zoneA.close();
      }
      // The zone-a instance is gone: its endpoint leaves, zone b is the client's closest.
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> servedBy(outbound(client), "reviews", 10).equals(Map.of("reviews-b1", 10)));
      assertThat(servedBy(outbound(client), "reviews", 50)).isEqualTo(Map.of("reviews-b1", 50));
    }
  }

  private static int outbound(Sidecar client) {
    return client.outboundAddress().getPort();
  }
}
