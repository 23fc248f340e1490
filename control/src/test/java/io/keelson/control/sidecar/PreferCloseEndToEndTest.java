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
      staysNearThenFailsOver(cp, client, sidecar(cp, "reviews", a1.port(), "r1/a"), zoneB,
          "trafficDistribution: PreferClose, ", "reviews-a1", "reviews-b1");
    }
  }

  /**
   * Without {@code field} both of reviews' instances take {@code client}'s calls; with it only {@code near}'s
   * ({@code nearName}); when {@code near} leaves (closed here), only {@code far}'s ({@code farName}).
   */
  static void staysNearThenFailsOver(ControlPlane cp, Sidecar client, Sidecar near, Sidecar far, String field,
      String nearName, String farName) throws Exception {
    int outbound = client.outboundAddress().getPort();
    try {
      apply(cp, MESH.formatted(""));
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().keySet()
          .containsAll(java.util.List.of(near.nodeId(), far.nodeId())));
      // Without it (and without outlierDetection): one priority, both instances take calls.
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> servedBy(outbound, "reviews", 30).keySet().size() == 2);

      apply(cp, MESH.formatted(field));
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> servedBy(outbound, "reviews", 30).equals(Map.of(nearName, 30)));
      assertThat(servedBy(outbound, "reviews", 100)).isEqualTo(Map.of(nearName, 100));
    } finally {
      near.close();
    }
    // The near instance is gone: its endpoint leaves, the far one is the client's closest.
    await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
        .until(() -> servedBy(outbound, "reviews", 10).equals(Map.of(farName, 10)));
    assertThat(servedBy(outbound, "reviews", 50)).isEqualTo(Map.of(farName, 50));
  }
}
