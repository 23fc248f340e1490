package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.Mesh;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.testing.RawHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Sidecars with generated bootstraps against a real control plane: two app versions each behind its
 * own sidecar, a client sidecar on the same machine, Istio's canary applied, traffic sent to the
 * client's outbound port by Host reaching the apps through the server sidecars' inbound listeners.
 */
class SidecarEndToEndTest {
  static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;

  @Test
  void canaryThroughSidecarsSplitsNinetyTenAndAStoppedSidecarDeregisters() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService app1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService app2 = new SampleService("product", "v2").start("127.0.0.1", 0);
        Sidecar v1 = sidecar(cp, "product-service", Map.of("version", "v1"), app1.port());
        Sidecar v2 = sidecar(cp, "product-service", Map.of("version", "v2"), app2.port());
        Sidecar client = sidecar(cp, "frontend", Map.of(), 1)) {
      List<Policy> all = new ArrayList<>();
      all.addAll(PolicyParser.parse("services.yaml", SERVICES).policies());
      all.addAll(PolicyParser.parse("destination-rule.yaml", Mesh.resource("/canary/destination-rule.yaml")).policies());
      all.addAll(PolicyParser.parse("virtual-service.yaml", Mesh.resource("/canary/virtual-service.yaml")).policies());
      cp.store.apply(all, false);

      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().size() == 3);
      assertThat(cp.xds.registeredWorkloads().keySet())
          .containsExactlyInAnyOrder(v1.nodeId(), v2.nodeId(), client.nodeId());
      assertThat(cp.xds.registeredWorkloads().get(v2.nodeId()).port()).isEqualTo(v2.inboundAddress().getPort());
      assertThat(cp.xds.registeredWorkloads().get(v2.nodeId()).labels()).containsEntry("version", "v2");

      int outbound = client.outboundAddress().getPort();
      // Until the mesh has converged: a listener updated meanwhile drains this connection (Connection: close).
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> servedBy(outbound, "product-service", 20)
          .keySet().stream().allMatch(who -> who.startsWith("product-")));
      Map<String, Integer> split = servedBy(outbound, "product-service:80", 1000);
      assertThat(split.keySet()).as("%s", split).containsOnly("product-v1", "product-v2");
      assertThat(split.get("product-v2") / 1000.0).as("v2's share of %s", split).isBetween(0.05, 0.15);

      // The control plane's `outbound` listener replaced the static placeholder (one listener of that name).
      assertThat(client.xds().lastSnapshot().listeners()).extracting(l -> l.name())
          .containsExactlyInAnyOrder("inbound", "outbound");
      // Mesh traffic enters through each workload's inbound listener, not straight to the app.
      assertThat(servedBy(v2.inboundAddress().getPort(), "product-service", 5)).containsOnly(Map.entry("product-v2", 5));

      v2.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> !cp.xds.registeredWorkloads().containsKey(v2.nodeId()));
      // v2's subset is now empty: the VirtualService still sends it 10%, which fails as Envoy's would (503).
      await().atMost(Duration.ofSeconds(10))
          .until(() -> servedBy(outbound, "product-service", 200).getOrDefault("product-v1", 0) >= 150);
      assertThat(servedBy(outbound, "product-service", 200)).doesNotContainKey("product-v2");
    }
  }

  @Test
  void generatedBootstrapLoadsWithBothListenersTheAppClusterAndAds() throws Exception {
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", 15010, "reviews", SidecarBootstrap.parseLabels("version=v3,team=blue"),
        9080, 15106, 15101, "127.0.0.1", 9911);
    var snapshot = BootstrapLoader.parseBootstrap(b.yaml(), "test").snapshot();
    assertThat(snapshot.listeners()).extracting(l -> l.name()).containsExactlyInAnyOrder("inbound", "outbound");
    assertThat(snapshot.clusters()).containsKey(SidecarBootstrap.APP_CLUSTER);
    var ads = BootstrapLoader.parseAdsSource(b.yaml(), "test");
    assertThat(ads.port()).isEqualTo(15010);
    assertThat(ads.node().getId()).isEqualTo("reviews-15106");
    var md = b.node(15106, 15101).getMetadata().getFieldsMap();
    assertThat(md.get("keelson.io/service").getStringValue()).isEqualTo("reviews");
    assertThat(md.get("keelson.io/port").getNumberValue()).isEqualTo(15106);
    assertThat(md.get("keelson.io/outbound-port").getNumberValue()).isEqualTo(15101);
    assertThat(md.get("keelson.io/labels").getStructValue().getFieldsMap().get("team").getStringValue()).isEqualTo("blue");
  }

  @Test
  void badLabelsAndServiceNamesAreRejectedWithTheOption() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> SidecarBootstrap.parseLabels("version"))
        .hasMessageContaining("--labels: 'version' is not a label");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new SidecarBootstrap("127.0.0.1", 15010, "Bad_Name",
        Map.of(), 80, 0, 0, "127.0.0.1", 0)).hasMessageContaining("--service 'Bad_Name'");
  }

  static Sidecar sidecar(ControlPlane cp, String service, Map<String, String> labels, int appPort) throws Exception {
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.xds.port(), service, labels, appPort, 0, 0, "127.0.0.1", 0);
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500));
  }

  /** Sends n requests with this Host over one connection; counts x-served-by (or the status when not 200). */
  static Map<String, Integer> servedBy(int port, String host, int n) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    try (RawHttp http = new RawHttp(port)) {
      for (int i = 0; i < n; i++) {
        RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
        counts.merge(r.status() == 200 ? r.header("x-served-by") : "status " + r.status(), 1, Integer::sum);
      }
    }
    return counts;
  }
}
