package io.keelson.control.xds;

import static io.keelson.control.xds.LocalityTranslationTest.priorities;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.policy.Locality;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A registry Service's {@code trafficDistribution: PreferClose} (and Istio's annotation) as istiod programs it: the
 * service's clusters get priorities by the caller's region and zone without outlierDetection, a DestinationRule's own
 * localityLbSetting wins, and services without it are unchanged.
 */
class TrafficDistributionTranslationTest {
  /**
   * Service {@code name} with {@code metadata} and {@code spec} fields added, and one workload per locality: ports 1-2
   * us-west/a (two subzones), 3 us-west/b, 4 us-east/a, 5 none.
   */
  private static String registry(String name, String metadata, String spec) {
    return "apiVersion: keelson.io/v1alpha1\nkind: Service\nmetadata: { name: " + name + metadata + " }\n"
        + "spec: { " + spec + "ports: [ { name: http, port: 80 } ] }\n"
        + workload(name, 1, "us-west/a/rack1") + workload(name, 2, "us-west/a/rack2")
        + workload(name, 3, "us-west/b/rack1") + workload(name, 4, "us-east/a/rack1") + workload(name, 5, null);
  }

  private static String workload(String service, int port, String locality) {
    return "---\n{ apiVersion: keelson.io/v1alpha1, kind: Workload, metadata: { name: " + service + port + " },"
        + " spec: { service: " + service + ", address: 127.0.0.1, port: " + port
        + (locality == null ? "" : ", locality: " + locality) + " } }\n";
  }

  private static PolicySet state(String... docs) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", String.join("---\n", docs)).policies(), false);
    return store.current();
  }

  private static final Locality WEST_A = new Locality("us-west", "a", "rack1");
  private static final Map<Integer, Integer> EVERY_ZONE_EQUAL = Map.of(1, 0, 2, 0, 3, 0, 4, 0, 5, 0);

  @Test
  void preferCloseGivesPrioritiesByZoneThenRegionWithoutOutlierDetection() throws Exception {
    PolicySet s = state(registry("reviews", "", "trafficDistribution: PreferClose, "), registry("ratings", "", ""));
    // istiod's failoverPriority [region, zone]: the zone (both subzones) 0, the region 1, the rest 2
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    assertThat(priorities(s, "reviews", new Locality("us-west", "b", ""), Map.of(), true))
        .isEqualTo(Map.of(3, 0, 1, 1, 2, 1, 4, 2, 5, 2));
    assertThat(priorities(s, "reviews", new Locality("us-east", "a", ""), Map.of(), true))
        .isEqualTo(Map.of(4, 0, 1, 1, 2, 1, 3, 1, 5, 1));
    // even with the mesh's locality load balancing off, as istiod (the service asks for it)
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), false)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    // a service without it: every locality at priority 0 (no outlierDetection)
    assertThat(priorities(s, "ratings", WEST_A, Map.of(), true)).isEqualTo(EVERY_ZONE_EQUAL);
  }

  @Test
  void theAnnotationAndPreferSameZoneMeanTheSame() throws Exception {
    PolicySet s = state(registry("reviews",
        ", annotations: { networking.istio.io/traffic-distribution: preferclose }", ""),
        registry("ratings", "", "trafficDistribution: PreferSameZone, "));
    assertThat(priorities(s, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    assertThat(priorities(s, "ratings", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
  }

  @Test
  void aDestinationRulesLocalityLbSettingWinsOverPreferClose() throws Exception {
    String svc = registry("reviews", "", "trafficDistribution: PreferClose, ");
    PolicySet disabled = state(svc, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec: { host: reviews, trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: false } } } }
        """);
    assertThat(priorities(disabled, "reviews", WEST_A, Map.of(), true)).isEqualTo(EVERY_ZONE_EQUAL);
    // a rule without localityLbSetting (only outlierDetection): PreferClose still decides, over subsets too
    PolicySet subsets = state(svc, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec:
          host: reviews
          subsets: [ { name: all, labels: {} } ]
          trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } }
        """);
    assertThat(priorities(subsets, "reviews", WEST_A, Map.of(), true)).isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
    assertThat(priorities(subsets, "reviews|all", WEST_A, Map.of(), true))
        .isEqualTo(Map.of(1, 0, 2, 0, 3, 1, 4, 2, 5, 2));
  }
}
