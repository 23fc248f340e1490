package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A registry Service's {@code spec.trafficDistribution} and Istio's annotation: what is kept, what is refused where. */
class TrafficDistributionParserTest {
  private static String service(String metadata, String spec) {
    return "apiVersion: keelson.io/v1alpha1\nkind: Service\nmetadata: { name: reviews" + metadata + " }\n"
        + "spec: { " + spec + "ports: [ { port: 80 } ] }\n";
  }

  private static boolean preferClose(String metadata, String spec) throws Exception {
    return ((Policy.Service) PolicyParser.parse("s.yaml", service(metadata, spec)).policies().getFirst()).preferClose();
  }

  @Test
  void keepsPreferCloseFromTheSpecOrTheAnnotation() throws Exception {
    assertThat(preferClose("", "trafficDistribution: PreferClose, ")).isTrue();
    assertThat(preferClose("", "trafficDistribution: PreferSameZone, ")).isTrue();
    assertThat(preferClose(", annotations: { networking.istio.io/traffic-distribution: PreferClose }", "")).isTrue();
    assertThat(preferClose(", annotations: { networking.istio.io/traffic-distribution: prefersamezone }", "")).isTrue();
    assertThat(preferClose("", "")).isFalse();
  }

  @Test
  void refusesOtherValuesByField() {
    assertThat(errors(service("", "trafficDistribution: PreferNearby, "))).containsExactly(
        "bad.yaml: Service/reviews: spec.trafficDistribution: 'PreferNearby' is not a traffic distribution; expected"
            + " PreferClose or PreferSameZone (callers prefer endpoints of their own zone, then region)");
    assertThat(errors(service("", "trafficDistribution: PreferSameNode, "))).containsExactly(
        "bad.yaml: Service/reviews: spec.trafficDistribution: 'PreferSameNode' is not supported (registry workloads"
            + " carry no node); expected PreferClose or PreferSameZone (callers prefer endpoints of their own zone,"
            + " then region)");
    assertThat(errors(service("", "trafficDistribution: preferclose, "))).singleElement().asString()
        .contains("spec.trafficDistribution: 'preferclose' is not a traffic distribution"); // Kubernetes' exact names
    assertThat(errors(service(", annotations: { networking.istio.io/traffic-distribution: Any }", "")))
        .containsExactly("bad.yaml: Service/reviews: metadata.annotations[\"networking.istio.io/traffic-distribution\"]:"
            + " 'Any' is not a traffic distribution; expected PreferClose or PreferSameZone (callers prefer endpoints"
            + " of their own zone, then region)");
  }
}
