package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule {@code loadBalancer.consistentHash} (every hash key, both algorithms, subsets) and slow start
 * ({@code warmupDurationSecs}, {@code warmup}), and their refusals.
 */
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
        Policy.HashSource.QUERY_PARAMETER, "user", null, null, false, 512L), null));
    assertThat(dr.balancing("v2")).isEqualTo(new Policy.Balancing("RANDOM", null, null));
    assertThat(dr.balancing(null)).isEqualTo(new Policy.Balancing("RANDOM", null, null));
  }

  @Test
  void slowStartInBothFormsOnRoundRobinAndLeastRequest() throws Exception {
    assertThat(rule("""
          trafficPolicy: { loadBalancer: { warmupDurationSecs: 90s } }
        """).warmup()).isEqualTo(new Policy.Warmup(Duration.ofSeconds(90), null, null));
    Policy.DestinationRule dr = rule("""
          trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST, warmup: { duration: 1m, minimumPercent: 20, aggression: 2 } } }
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy: { loadBalancer: { simple: RANDOM } }
        """);
    assertThat(dr.balancing(null)).isEqualTo(new Policy.Balancing("LEAST_REQUEST", null,
        new Policy.Warmup(Duration.ofMinutes(1), 2.0, 20.0)));
    assertThat(dr.balancing("v1")).as("a subset's loadBalancer replaces the rule's, warmup included")
        .isEqualTo(new Policy.Balancing("RANDOM", null, null));
    assertThat(errors(HEAD + """
          trafficPolicy: { loadBalancer: { simple: RANDOM, warmupDurationSecs: 60s } }
          subsets:
          - name: a
            labels: { v: a }
            trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true }, warmup: { duration: 10s } } }
          - name: b
            labels: { v: b }
            trafficPolicy: { loadBalancer: { warmup: { minimumPercent: 5 }, warmupDurationSecs: 5s } }
          - name: c
            labels: { v: c }
            trafficPolicy: { loadBalancer: { warmup: { minimumPercent: 5 } } }
          - name: d
            labels: { v: d }
            trafficPolicy: { loadBalancer: { warmupDurationSecs: 0s } }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: DestinationRule/api: spec.trafficPolicy.loadBalancer.warmupDurationSecs: slow start applies to"
            + " ROUND_ROBIN and LEAST_REQUEST only; the load balancer is RANDOM",
        "bad.yaml: DestinationRule/api: spec.subsets[0].trafficPolicy.loadBalancer.warmup: slow start applies to"
            + " ROUND_ROBIN and LEAST_REQUEST only; the load balancer is consistentHash",
        "bad.yaml: DestinationRule/api: spec.subsets[1].trafficPolicy.loadBalancer.warmup: is set together with"
            + " warmupDurationSecs; expected one of them",
        "bad.yaml: DestinationRule/api: spec.subsets[2].trafficPolicy.loadBalancer.warmup.duration: is required;"
            + " expected e.g. 60s",
        "bad.yaml: DestinationRule/api: spec.subsets[3].trafficPolicy.loadBalancer.warmupDurationSecs: is zero;"
            + " expected a window such as 60s");
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
