package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's localityLbSetting on a DestinationRule and a Workload's locality: what is kept, and every refusal istiod
 * makes, at its field path.
 */
class LocalityLbParserTest {
  private static final String DR = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: reviews }
      spec:
        host: reviews
        trafficPolicy:
          outlierDetection: { consecutive5xxErrors: 1 }
          loadBalancer:
            localityLbSetting:
      """;
  private static final String AT = "bad.yaml: DestinationRule/reviews: spec.trafficPolicy.loadBalancer.localityLbSetting.";

  private static Policy.DestinationRule rule(String setting) throws Exception {
    return (Policy.DestinationRule) PolicyParser.parse("dr.yaml", DR + setting).policies().getFirst();
  }

  @Test
  void keepsDistributeFailoverFailoverPriorityAndEnabled() throws Exception {
    var distribute = rule("""
                distribute:
                - from: us-west/zone1/*
                  to: { "us-west/zone1/*": 80, "us-west/zone2/*": 20 }
        """).localityLb();
    assertThat(distribute.distribute()).containsExactly(new Policy.LocalityLbSetting.Distribute("us-west/zone1/*",
        Map.of("us-west/zone1/*", 80, "us-west/zone2/*", 20)));
    assertThat(distribute.enabled()).isNull();
    var failover = rule("""
                enabled: true
                failover: [ { from: us-east, to: eu-west } ]
                failoverPriority: [ version ]
        """).localityLb();
    assertThat(failover.failover()).containsExactly(new Policy.LocalityLbSetting.Failover("us-east", "eu-west"));
    assertThat(failover.failoverPriority()).containsExactly("version");
    assertThat(failover.enabled()).isTrue();
    assertThat(rule("""
                enabled: false
        """).localityLb().disabled()).isTrue();
  }

  @Test
  void refusesDistributeTogetherWithFailover() {
    assertThat(errors(DR + """
                distribute: [ { from: "us-west/*", to: { "us-west/*": 100 } } ]
                failover: [ { from: us-west, to: us-east } ]
        """)).containsExactly(AT + "distribute: cannot be set together with failover (as in Istio): use one of them");
  }

  @Test
  void refusesWeightsThatDoNotSumToOneHundredOrAreOutOfRange() {
    assertThat(errors(DR + """
                distribute: [ { from: "us-west/*", to: { "us-west/*": 70, "us-east/*": 20 } } ]
        """)).containsExactly(AT + "distribute[0].to: the weights sum to 90; they must sum to 100");
    assertThat(errors(DR + """
                distribute: [ { from: "us-west/*", to: { "us-west/*": 0, "us-east/*": 100 } } ]
        """)).containsExactly(AT + "distribute[0].to.us-west/*: expected a whole number from 1 to 100, got 0");
    assertThat(errors(DR + """
                distribute: [ { from: "us-west/*" } ]
        """)).containsExactly(AT + "distribute[0].to: is required: the localities to send traffic to and their weights"
        + " (summing to 100)");
  }

  @Test
  void refusesBadLocalityStrings() {
    String expected = "is not a locality; expected region/zone/subzone (zone and subzone optional), where a '*' may"
        + " only be the last part, e.g. us-east1/us-east1-b/* or us-west1/*";
    assertThat(errors(DR + """
                distribute: [ { from: "us-west/*/zone", to: { "us-west//a": 100 } } ]
        """)).containsExactly(AT + "distribute[0].from: 'us-west/*/zone' " + expected,
        AT + "distribute[0].to.us-west//a: 'us-west//a' " + expected);
    assertThat(errors(DR + """
                distribute: [ { from: "a/b/c/d", to: { "us-west/*": 100 } } ]
        """)).containsExactly(AT + "distribute[0].from: 'a/b/c/d' " + expected);
    assertThat(errors(DR + """
                distribute:
                - { from: "us-west/*", to: { "us-west/*": 100 } }
                - { from: "us-west/*", to: { "us-east/*": 100 } }
        """)).containsExactly(AT + "distribute[1].from: 'us-west/*' is already the 'from' of another distribute entry");
  }

  @Test
  void refusesFailoverThatIsNotTwoDifferentRegions() {
    assertThat(errors(DR + """
                failover: [ { from: us-west, to: us-west }, { from: us-west/zone1, to: "*" } ]
        """)).containsExactly(AT + "failover[0].to: 'us-west' is also 'from': failover must name two different regions",
        AT + "failover[1].from: 'us-west/zone1' is not a region: failover names whole regions (no '/' or '*'), e.g. us-east1",
        AT + "failover[1].to: '*' is not a region: failover names whole regions (no '/' or '*'), e.g. us-east1");
  }

  @Test
  void refusesFailoverTogetherWithATopologyLabelInFailoverPriority() {
    assertThat(errors(DR + """
                failover: [ { from: us-west, to: us-east } ]
                failoverPriority: [ version, topology.kubernetes.io/zone ]
        """)).containsExactly(AT + "failoverPriority[1]: topology label 'topology.kubernetes.io/zone' cannot be used"
        + " together with failover (as in Istio): failover already orders by locality");
  }

  @Test
  void refusesAFailoverPriorityEntryThatIsNotALabelOrLabelEqualsValue() throws Exception {
    assertThat(errors(DR + """
                failoverPriority: [ "=v1", "version=", "a=b=c" ]
        """)).hasSize(3).allMatch(e -> e.contains("is not a label: expected a label name, or label=value"));
    assertThat(rule("""
                failoverPriority: [ topology.istio.io/network=net1, version ]
        """).localityLb().failoverPriority()).containsExactly("topology.istio.io/network=net1", "version");
  }

  @Test
  void refusesUnknownFieldsAndASubsetLevelSetting() {
    assertThat(errors(DR + """
                failovr: []
        """)).containsExactly(AT + "failovr: unknown field; expected one of distribute, enabled, failover,"
        + " failoverPriority");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec:
          host: reviews
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: false } } }
        """)).containsExactly("bad.yaml: DestinationRule/reviews: spec.subsets[0].trafficPolicy.loadBalancer"
        + ".localityLbSetting: is not supported on a subset yet; set it on the DestinationRule's trafficPolicy");
  }

  @Test
  void warnsThatFailoverNeedsOutlierDetection() throws Exception {
    var parsed = PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec:
          host: reviews
          trafficPolicy: { loadBalancer: { localityLbSetting: { failoverPriority: [ version ] } } }
        """);
    assertThat(parsed.warnings()).extracting(PolicyError::toString).containsExactly("dr.yaml: DestinationRule/reviews:"
        + " spec.trafficPolicy.loadBalancer.localityLbSetting: failover takes effect only with outlierDetection (as in"
        + " Istio): without it every locality has the same priority");
  }

  @Test
  void aWorkloadsLocalityBecomesItsTopologyLabels() throws Exception {
    var w = (Policy.Workload) PolicyParser.parse("w.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: reviews-1 }
        spec: { service: reviews, address: 10.0.0.1, port: 9080, locality: us-west/zone1/rack7, labels: { v: "1" } }
        """).policies().getFirst();
    assertThat(w.locality()).isEqualTo(new Locality("us-west", "zone1", "rack7"));
    assertThat(w.labels()).containsEntry(Locality.ZONE, "zone1").containsEntry(Locality.SUBZONE, "rack7")
        .containsEntry("v", "1");
    var labelled = (Policy.Workload) PolicyParser.parse("w.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: reviews-2 }
        spec:
          service: reviews
          address: 10.0.0.2
          port: 9080
          labels: { topology.kubernetes.io/region: us-east, topology.kubernetes.io/zone: b }
        """).policies().getFirst();
    assertThat(labelled.locality()).isEqualTo(new Locality("us-east", "b", ""));
  }

  @Test
  void refusesABadOrContradictoryWorkloadLocality() {
    String head = """
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: reviews-1 }
        spec:
          service: reviews
          address: 10.0.0.1
          port: 9080
        """;
    assertThat(errors(head + "  locality: us-west//rack7\n")).containsExactly("bad.yaml: Workload/reviews-1:"
        + " spec.locality: 'us-west//rack7' is not a locality: '' is not a region, zone or subzone name (letters,"
        + " digits, '-', '_', '.'; no empty part, no '*')");
    assertThat(errors(head + "  locality: us-west/*\n")).hasSize(1);
    assertThat(errors(head + "  locality: us-west/a\n  labels: { topology.kubernetes.io/zone: b }\n"))
        .containsExactly("bad.yaml: Workload/reviews-1: spec.locality: 'us-west/a' contradicts the topology labels,"
            + " which say '/b'; set one of them");
    assertThat(List.of(Locality.parse("r").toString(), Locality.parse("r/z/s").toString())).containsExactly("r", "r/z/s");
  }
}
