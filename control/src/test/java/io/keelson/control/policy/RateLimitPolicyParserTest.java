package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.store.PolicyStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Linkerd's HTTPLocalRateLimitPolicy: what is read, what is refused by field path, and the cross-document checks. */
class RateLimitPolicyParserTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { ports: [ { name: http, port: 9080 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec: { ports: [ { name: tcp, port: 5432 } ] }
      """;

  private static String policy(String name, String spec) {
    return """
        apiVersion: policy.linkerd.io/v1alpha1
        kind: HTTPLocalRateLimitPolicy
        metadata: { name: %s }
        spec:
        %s""".formatted(name, spec.indent(2));
  }

  private static List<String> errors(String yaml) {
    return PolicyParserTest.errors(yaml);
  }

  @Test
  void totalRequestsPerSecondForAService() throws Exception {
    var p = (Policy.HttpLocalRateLimitPolicy) PolicyParser.parse("rl.yaml", policy("reviews-rl", """
        targetRef: { kind: Service, name: reviews }
        total: { requestsPerSecond: 25 }
        """)).policies().getFirst();
    assertThat(p.service()).isEqualTo("reviews");
    assertThat(p.totalRequestsPerSecond()).isEqualTo(25);
    assertThat(p.meta().key()).isEqualTo("HTTPLocalRateLimitPolicy/reviews-rl");
  }

  @Test
  void perClientBucketsAServerTargetAndMissingOrBadLimitsAreRefusedByField() {
    assertThat(errors(policy("a", """
        targetRef: { group: policy.linkerd.io, kind: Server, name: reviews-http }
        total: { requestsPerSecond: 10 }
        identity: { requestsPerSecond: 2 }
        overrides: [ { requestsPerSecond: 5, clientRefs: [ { kind: ServiceAccount, name: bot } ] } ]
        """))).anySatisfy(e -> assertThat(e).contains("spec.identity").contains("one bucket for all clients"))
        .anySatisfy(e -> assertThat(e).contains("spec.overrides").contains("not supported"))
        .anySatisfy(e -> assertThat(e).contains("spec.targetRef.kind").contains("no Server resource"))
        .anySatisfy(e -> assertThat(e).contains("spec.targetRef.group").contains("policy.linkerd.io"));
    assertThat(errors(policy("b", """
        targetRef: { kind: Service, name: reviews }
        total: { requestsPerSecond: 0 }
        """))).anySatisfy(e -> assertThat(e).contains("spec.total.requestsPerSecond").contains("from 1 to"));
    assertThat(errors(policy("c", """
        targetRef: { kind: Service, name: reviews }
        total: {}
        """))).anySatisfy(e -> assertThat(e).contains("spec.total.requestsPerSecond").contains("required"));
    assertThat(errors(policy("d", """
        targetRef: { kind: Service, name: reviews }
        """))).anySatisfy(e -> assertThat(e).contains("spec.total"));
    assertThat(errors(policy("e", """
        targetRef: { kind: HTTPRoute, name: reviews }
        total: { requestsPerSecond: 3 }
        """))).anySatisfy(e -> assertThat(e).contains("spec.targetRef.kind").contains("expected Service"));
  }

  @Test
  void theTargetMustBeAnHttpServiceWithOnePolicy() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("rl.yaml", policy("x", """
        targetRef: { kind: Service, name: ratings }
        total: { requestsPerSecond: 3 }
        """)).policies(), false)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.targetRef.name").hasMessageContaining("ratings");
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("rl.yaml", policy("y", """
        targetRef: { kind: Service, name: db }
        total: { requestsPerSecond: 3 }
        """)).policies(), false)).isInstanceOf(PolicyException.class).hasMessageContaining("no HTTP port");
    store.apply(PolicyParser.parse("rl.yaml", policy("first", """
        targetRef: { kind: Service, name: reviews }
        total: { requestsPerSecond: 3 }
        """)).policies(), false);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("rl2.yaml", policy("second", """
        targetRef: { kind: Service, name: reviews }
        total: { requestsPerSecond: 4 }
        """)).policies(), false)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("already has HTTPLocalRateLimitPolicy/first");
  }
}
