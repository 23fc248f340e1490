package io.keelson.dataplane.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.testing.PrometheusText;
import io.keelson.dataplane.testing.PrometheusText.Sample;
import io.keelson.dataplane.xds.ResourceType;
import io.keelson.dataplane.xds.XdsStats;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio labels for inbound and outbound clusters, identity from an Istio node, and the xDS counters. */
class StatsRegistryTest {
  @Test
  void identityFromAnIstioSidecarNodeIdWhenMetadataIsMissing() {
    MeshIdentity id = MeshIdentity.fromNode("sidecar~10.0.0.7~reviews-v2-7f9.bookinfo~bookinfo.svc.cluster.local", "", Map.of());
    assertThat(id.workload()).isEqualTo("reviews-v2-7f9");
    assertThat(id.namespace()).isEqualTo("bookinfo");
    assertThat(id.app()).isEqualTo("unknown");
    assertThat(id.principal()).isEqualTo("unknown");
  }

  @Test
  void inboundClustersReportAsTheDestinationWithThisProxysIdentity() {
    MeshIdentity me = new MeshIdentity("reviews-v2", "bookinfo", "reviews", "v2", null);
    String[] l = IstioWriter.destinationLabels(me, "inbound|9080||");
    Map<String, String> labels = new java.util.HashMap<>();
    for (int i = 0; i < l.length; i += 2) {
      labels.put(l[i], l[i + 1]);
    }
    assertThat(labels).containsEntry("reporter", "destination")
        .containsEntry("destination_workload", "reviews-v2")
        .containsEntry("destination_app", "reviews")
        .containsEntry("destination_version", "v2")
        .containsEntry("destination_service_namespace", "bookinfo")
        .containsEntry("source_workload", "unknown")
        .containsEntry("connection_security_policy", "none");
  }

  @Test
  void tcpPeersPastTheBoundStillCountAsMutualTls() {
    StatsRegistry r = new StatsRegistry();
    for (int i = 0; i < StatsRegistry.MAX_ISTIO_TCP + 2; i++) {
      r.istioTcp("inbound|5432||", "spiffe://cluster.local/ns/db/sa/c" + i, null).opened.increment();
    }
    IstioTcpDestination overflow = r.istioTcp("inbound|5432||", "spiffe://cluster.local/ns/db/sa/late", null);
    assertThat(overflow.peerPrincipal).isNull();
    assertThat(overflow.mutualTls).isTrue();
    assertThat(overflow).isSameAs(r.istioTcp("inbound|5432||", "spiffe://cluster.local/ns/db/sa/later", null));
    assertThat(r.istioTcp("inbound|5432||")).as("plaintext stays apart").isNotSameAs(overflow);
  }

  @Test
  void labelVariantsOfEveryViewCountAgainstOneBoundAndAFullTableDropsTheSample() {
    IstioDestination d = new StatsRegistry().cluster("outbound|80||a").istio;
    IstioMetricsConfig last = null;
    for (int i = 0; i < IstioDestination.MAX_ALL_VARIANTS + 10; i++) { // each a new view, as a config past a cache
      last = new IstioMetricsConfig(List.of());
      d.record(last, 0, MeshIdentity.UNKNOWN_IDENTITY, null, 0, 200, -1, ResponseFlag.NONE, 1, 1, 1);
    }
    d.record(last, 7, MeshIdentity.UNKNOWN_IDENTITY, null, 0, 200, -1, ResponseFlag.NONE, 1, 1, 1);
    assertThat(d.variants()).hasSize(IstioDestination.MAX_ALL_VARIANTS);

    IstioDestination keyed = new StatsRegistry().cluster("outbound|80||b").istio;
    IstioMetricsConfig view = new IstioMetricsConfig(List.of());
    for (long key = 1; key <= IstioDestination.MAX_VARIANTS + 5; key++) {
      keyed.record(view, key, MeshIdentity.UNKNOWN_IDENTITY, null, 0, 200, -1, ResponseFlag.NONE, 1, 1, 1);
    }
    assertThat(keyed.variants()).as("the keys past the bound share the all-unknown variant")
        .hasSize(IstioDestination.MAX_VARIANTS + 1).filteredOn(v -> v.key == 0).singleElement()
        .satisfies(v -> assertThat(v.series().getFirst().count.sum()).isEqualTo(5));
  }

  @Test
  void sharedMetricConfigsAreBoundedAndTheRecentOnesStayShared() {
    StatsRegistry r = new StatsRegistry();
    for (int i = 0; i < StatsRegistry.MAX_ISTIO_METRICS_CONFIGS + 50; i++) {
      r.istioMetrics(List.of(new IstioMetricsConfig.Override("", false, List.of("t" + i), Map.of())));
    }
    assertThat(r.istioMetricsShared()).isEqualTo(StatsRegistry.MAX_ISTIO_METRICS_CONFIGS);
    var late = List.of(new IstioMetricsConfig.Override("", false, List.of("late"), Map.of()));
    assertThat(r.istioMetrics(late)).as("past the bound, still one instance per config").isSameAs(r.istioMetrics(late));
  }

  @Test
  void istioTcpEntriesPastTheBoundShareAnOverflowWhateverTheirView() {
    StatsRegistry r = new StatsRegistry();
    for (int i = 0; i < StatsRegistry.MAX_ISTIO_TCP; i++) {
      r.istioTcp("outbound|5432||db", null, new IstioMetricsConfig(List.of()));
    }
    IstioTcpDestination a = r.istioTcp("outbound|5432||db", null, new IstioMetricsConfig(List.of()));
    assertThat(r.istioTcp("outbound|5432||db", null, new IstioMetricsConfig(List.of()))).isSameAs(a);
    assertThat(a.mutualTls).isFalse();
    assertThat(r.istioTcp("outbound|5432||db", "spiffe://cluster.local/ns/a/sa/b", new IstioMetricsConfig(List.of())))
        .satisfies(m -> assertThat(m.mutualTls).isTrue()).isNotSameAs(a);
  }

  @Test
  void xdsCountersAreExposedWhenAClientRuns() throws Exception {
    String unavailable = PrometheusText.unavailableReason();
    assumeTrue(unavailable == null, unavailable);
    StatsRegistry r = new StatsRegistry();
    assertThat(r.toPrometheus()).doesNotContain("keelson_xds_update_success");
    Map<ResourceType, Long> accepted = Map.of(ResourceType.CLUSTER, 3L, ResourceType.LISTENER, 2L);
    Map<ResourceType, Long> rejected = Map.of(ResourceType.ROUTE, 1L);
    r.xds(() -> new XdsStats(true, accepted, rejected, Map.of(), 4, 1, "bad route", 0, 0));
    List<Sample> samples = PrometheusText.parse(r.toPrometheus());
    assertThat(value(samples, "keelson_xds_update_success_total", "CDS")).isEqualTo(3);
    assertThat(value(samples, "keelson_xds_update_success_total", "LDS")).isEqualTo(2);
    assertThat(value(samples, "keelson_xds_update_rejected_total", "RDS")).isEqualTo(1);
    assertThat(samples.stream().filter(s -> s.name().equals("envoy_control_plane_connected_state")).findFirst().orElseThrow().value())
        .isEqualTo(1);
    assertThat(r.toEnvoyText()).contains("cluster_manager.cds.update_success: 3\n", "http.rds.update_rejected: 1\n");
  }

  private static double value(List<Sample> samples, String name, String type) {
    return samples.stream().filter(s -> s.name().equals(name) && type.equals(s.labels().get("type")))
        .findFirst().orElseThrow(() -> new AssertionError("no " + name + " " + type)).value();
  }
}
