package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.policy.Policy.TrafficDistribution;
import org.junit.jupiter.api.Test;

/**
 * A registry Service's {@code spec.trafficDistribution} and Istio's annotation (also a ServiceEntry's): what is kept,
 * what is refused where.
 */
class TrafficDistributionParserTest {
  private static final String EXPECTED = "expected PreferClose or PreferSameZone (callers prefer endpoints of their own"
      + " zone, then region) or PreferSameNode (of their own node first)";

  private static String service(String metadata, String spec) {
    return "apiVersion: keelson.io/v1alpha1\nkind: Service\nmetadata: { name: reviews" + metadata + " }\n"
        + "spec: { " + spec + "ports: [ { port: 80 } ] }\n";
  }

  private static String entry(String annotation, String resolution) {
    return "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: api"
        + (annotation == null ? "" : ", annotations: { networking.istio.io/traffic-distribution: " + annotation + " }")
        + " }\nspec: { hosts: [ api.example.com ], ports: [ { number: 80, name: http, protocol: HTTP } ],"
        + " resolution: " + resolution + ", endpoints: [ { address: 10.0.0.1 } ] }\n";
  }

  private static TrafficDistribution of(String metadata, String spec) throws Exception {
    return ((Policy.Service) PolicyParser.parse("s.yaml", service(metadata, spec)).policies().getFirst())
        .trafficDistribution();
  }

  private static TrafficDistribution ofEntry(String annotation) throws Exception {
    return ((Policy.ServiceEntry) PolicyParser.parse("s.yaml", entry(annotation, "STATIC")).policies().getFirst())
        .trafficDistribution();
  }

  @Test
  void keepsTheDistributionFromTheSpecOrTheAnnotation() throws Exception {
    assertThat(of("", "trafficDistribution: PreferClose, ")).isEqualTo(TrafficDistribution.PREFER_SAME_ZONE);
    assertThat(of("", "trafficDistribution: PreferSameZone, ")).isEqualTo(TrafficDistribution.PREFER_SAME_ZONE);
    assertThat(of("", "trafficDistribution: PreferSameNode, ")).isEqualTo(TrafficDistribution.PREFER_SAME_NODE);
    assertThat(of(", annotations: { networking.istio.io/traffic-distribution: PreferClose }", ""))
        .isEqualTo(TrafficDistribution.PREFER_SAME_ZONE);
    assertThat(of(", annotations: { networking.istio.io/traffic-distribution: prefersamezone }", ""))
        .isEqualTo(TrafficDistribution.PREFER_SAME_ZONE);
    assertThat(of(", annotations: { networking.istio.io/traffic-distribution: PREFERSAMENODE }", ""))
        .isEqualTo(TrafficDistribution.PREFER_SAME_NODE);
    assertThat(of(", annotations: { networking.istio.io/traffic-distribution: PreferClose }",
        "trafficDistribution: PreferSameNode, ")).as("the spec's wins").isEqualTo(TrafficDistribution.PREFER_SAME_NODE);
    assertThat(of("", "")).isEqualTo(TrafficDistribution.ANY);
  }

  @Test
  void aServiceEntryTakesTheAnnotation() throws Exception {
    assertThat(ofEntry("PreferClose")).isEqualTo(TrafficDistribution.PREFER_SAME_ZONE);
    assertThat(ofEntry("preferSameNode")).isEqualTo(TrafficDistribution.PREFER_SAME_NODE);
    assertThat(ofEntry(null)).isEqualTo(TrafficDistribution.ANY);
  }

  @Test
  void refusesOtherValuesByField() {
    assertThat(errors(service("", "trafficDistribution: PreferNearby, "))).containsExactly(
        "bad.yaml: Service/reviews: spec.trafficDistribution: 'PreferNearby' is not a traffic distribution; "
            + EXPECTED);
    assertThat(errors(service("", "trafficDistribution: preferclose, "))).singleElement().asString()
        .contains("spec.trafficDistribution: 'preferclose' is not a traffic distribution"); // Kubernetes' exact names
    assertThat(errors(service(", annotations: { networking.istio.io/traffic-distribution: Any }", "")))
        .containsExactly("bad.yaml: Service/reviews: metadata.annotations[\"networking.istio.io/traffic-distribution\"]:"
            + " 'Any' is not a traffic distribution; " + EXPECTED);
    assertThat(errors(entry("PreferNearby", "STATIC"))).containsExactly("bad.yaml: ServiceEntry/api:"
        + " metadata.annotations[\"networking.istio.io/traffic-distribution\"]: 'PreferNearby' is not a traffic"
        + " distribution; " + EXPECTED);
    assertThat(errors(entry("PreferClose", "DNS"))).containsExactly("bad.yaml: ServiceEntry/api: spec.resolution: DNS"
        + " with annotation networking.istio.io/traffic-distribution: only a STATIC entry's endpoints are ordered per"
        + " caller; expected resolution STATIC, or drop the annotation");
  }
}
