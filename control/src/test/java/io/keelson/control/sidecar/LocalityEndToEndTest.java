package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarEndToEndTest.servedBy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.server.ProxyOptions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Locality load balancing through real sidecars: three reviews workloads, two in zone r1/a (registry documents with
 * {@code spec.locality}, straight to their apps) and one in zone r1/b (a sidecar registered with its node's
 * locality), called by a client sidecar in zone r1/a. With outlierDetection the client is sent zone a at priority 0
 * and keeps its calls there, and once both zone-a apps stop and are ejected its calls go to zone b; without
 * outlierDetection every zone is one priority (Istio's rule); {@code distribute} splits 80/20.
 */
class LocalityEndToEndTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-a1 }
      spec: { service: reviews, address: 127.0.0.1, port: %d, locality: r1/a }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: reviews-a2 }
      spec: { service: reviews, address: 127.0.0.1, port: %d, locality: r1/a }
      """;
  private static final String RULE = """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews }
      spec:
        host: reviews
        trafficPolicy:
      """;
  private static final String OUTLIERS =
      "    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }\n";

  @Test
  void callsStayInTheCallersZoneWithOutlierDetectionAndFailOverToTheOtherZoneWhenItsAppsStop() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService a1 = new SampleService("reviews", "a1").start("127.0.0.1", 0);
        SampleService a2 = new SampleService("reviews", "a2").start("127.0.0.1", 0);
        SampleService b1 = new SampleService("reviews", "b1").start("127.0.0.1", 0);
        Sidecar zoneB = sidecar(cp, "reviews", b1.port(), "r1/b");
        Sidecar client = sidecar(cp, "frontend", 1, "r1/a")) {
      String mesh = MESH.formatted(a1.port(), a2.port());
      int outbound = client.outboundAddress().getPort();

      // Without outlierDetection: no priorities (Istio applies failover only with it), every zone takes calls.
      apply(cp, mesh + RULE + "    connectionPool: { tcp: { maxConnections: 100 } }\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().containsKey(zoneB.nodeId()));
      assertThat(cp.xds.registeredWorkloads().get(zoneB.nodeId()).locality()).isEqualTo(new Locality("r1", "b", ""));
      assertThat(cp.xds.status()).filteredOn(s -> s.nodeId().equals(client.nodeId()))
          .extracting(io.keelson.control.xds.ProxyStatus::locality).containsExactly("r1/a");
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> servedBy(outbound, "reviews", 30).keySet().size() == 3);
      Map<String, Integer> spread = servedBy(outbound, "reviews", 300);
      assertThat(spread.getOrDefault("reviews-b1", 0)).as("zone b's share without outlierDetection: %s", spread)
          .isBetween(60, 140);

      // With outlierDetection: the client (zone a) is sent zone a at priority 0, zone b at 1.
      apply(cp, mesh + RULE + OUTLIERS);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> !servedBy(outbound, "reviews", 30).containsKey("reviews-b1"));
      Map<String, Integer> local = servedBy(outbound, "reviews", 200);
      assertThat(local).as("%s", local).containsOnlyKeys("reviews-a1", "reviews-a2");
      assertThat(local.get("reviews-a1")).as("%s", local).isBetween(50, 150);

      // Both zone-a apps stop: each failure ejects its endpoint; then every call fails over to zone b.
      a1.close();
      a2.close();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> servedBy(outbound, "reviews", 10).equals(Map.of("reviews-b1", 10)));
      assertThat(servedBy(outbound, "reviews", 100)).isEqualTo(Map.of("reviews-b1", 100));
    }
  }

  @Test
  void distributeSendsEightyPercentToTheCallersZoneAndTwentyToTheOther() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService a1 = new SampleService("reviews", "a1").start("127.0.0.1", 0);
        SampleService a2 = new SampleService("reviews", "a2").start("127.0.0.1", 0);
        SampleService b1 = new SampleService("reviews", "b1").start("127.0.0.1", 0);
        Sidecar zoneB = sidecar(cp, "reviews", b1.port(), "r1/b");
        Sidecar client = sidecar(cp, "frontend", 1, "r1/a")) {
      apply(cp, MESH.formatted(a1.port(), a2.port()) + RULE + """
              loadBalancer:
                localityLbSetting:
                  distribute:
                  - from: "r1/a/*"
                    to: { "r1/a/*": 80, "r1/b/*": 20 }
          """);
      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().containsKey(zoneB.nodeId()));
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> servedBy(outbound, "reviews", 50).keySet().size() == 3);
      Map<String, Integer> split = servedBy(outbound, "reviews", 400);
      assertThat(split.keySet()).as("%s", split).containsOnly("reviews-a1", "reviews-a2", "reviews-b1");
      // 80/20 by locality weights: zone b's expected 80 of 400 (a random pick's standard deviation is 8)
      assertThat(split.get("reviews-b1")).as("zone b's share of %s", split).isBetween(40, 120);
    }
  }

  static void apply(ControlPlane cp, String yaml) throws Exception {
    cp.store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
  }

  static Sidecar sidecar(ControlPlane cp, String service, int appPort, String locality) throws Exception {
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.xds.port(), service, Map.of(), appPort, 0, 0,
        "127.0.0.1", 0).withLocality(Locality.parse(locality));
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500));
  }
}
