package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** DestinationRule {@code loadBalancer.consistentHash}: every hash key, both algorithms, subsets, and the refusals. */
class ConsistentHashParserTest {
  private static final String HEAD = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: api }
      spec:
        host: api
      """;

  private static Policy.DestinationRule rule(String tail) throws Exception {
    return (Policy.DestinationRule) PolicyParser.parse("dr.yaml", HEAD + tail).policies().getFirst();
  }

  @Test
  void everyHashKeyAndBothAlgorithms() throws Exception {
    assertThat(rule("""
          trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: X-User } } }
        """).consistentHash()).isEqualTo(new Policy.ConsistentHash(Policy.HashSource.HEADER, "x-user", null, null,
        false, null));
    assertThat(rule("""
          trafficPolicy:
            loadBalancer: { consistentHash: { httpCookie: { name: s, path: /app, ttl: 60s }, maglev: { tableSize: 65537 } } }
        """).consistentHash()).isEqualTo(new Policy.ConsistentHash(Policy.HashSource.COOKIE, "s", Duration.ofSeconds(60),
        "/app", true, 65537L));
    assertThat(rule("""
          trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, minimumRingSize: 2048 } } }
        """).consistentHash()).isEqualTo(new Policy.ConsistentHash(Policy.HashSource.SOURCE_IP, null, null, null,
        false, 2048L));
    Policy.DestinationRule dr = rule("""
          trafficPolicy: { loadBalancer: { simple: RANDOM } }
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy: { loadBalancer: { consistentHash: { httpQueryParameterName: user, ringHash: { minimumRingSize: 512 } } } }
          - name: v2
            labels: { version: v2 }
        """);
    assertThat(dr.consistentHash()).isNull();
    assertThat(dr.balancing("v1")).isEqualTo(new Policy.Balancing(null, new Policy.ConsistentHash(
        Policy.HashSource.QUERY_PARAMETER, "user", null, null, false, 512L)));
    assertThat(dr.balancing("v2")).isEqualTo(new Policy.Balancing("RANDOM", null));
    assertThat(dr.balancing(null)).isEqualTo(new Policy.Balancing("RANDOM", null));
  }

  @Test
  void badSettingsAreRefusedWithTheirFieldPaths() {
    assertThat(errors(HEAD + """
          trafficPolicy:
            loadBalancer: { simple: RANDOM, consistentHash: { httpHeaderName: x } }
          subsets:
          - name: a
            labels: { v: a }
            trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x, useSourceIp: true } } }
          - name: b
            labels: { v: b }
            trafficPolicy: { loadBalancer: { consistentHash: { ringHash: { minimumRingSize: 10 } } } }
          - name: c
            labels: { v: c }
            trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65536 } } } }
          - name: d
            labels: { v: d }
            trafficPolicy:
              loadBalancer: { consistentHash: { httpCookie: { path: / }, ringHash: {}, maglev: {} } }
          - name: e
            labels: { v: e }
            trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: s, attributes: [ { name: Secure } ] } } } }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.loadBalancer.simple: is set together with consistentHash;"
            + " expected one of them (Istio's loadBalancer is one policy)",
        "bad.yaml: DestinationRule/api: spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.useSourceIp:"
            + " consistentHash takes one hash key, found httpHeaderName and useSourceIp; expected one of them",
        "bad.yaml: DestinationRule/api: spec.subsets[1].trafficPolicy.loadBalancer.consistentHash: needs a hash key;"
            + " expected one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName",
        "bad.yaml: DestinationRule/api: spec.subsets[2].trafficPolicy.loadBalancer.consistentHash.maglev.tableSize:"
            + " 65536 is not a prime; Maglev's table size must be prime (e.g. 65537)",
        "bad.yaml: DestinationRule/api: spec.subsets[3].trafficPolicy.loadBalancer.consistentHash.httpCookie.name:"
            + " is required",
        "bad.yaml: DestinationRule/api: spec.subsets[4].trafficPolicy.loadBalancer.consistentHash.httpCookie"
            + ".attributes: cookie attributes are not supported yet");
  }
}
