package io.keelson.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.policy.Authz.MtlsMode;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerAuthenticationResolverTest {
  private static List<Policy.PeerAuthentication> parse(String yaml) throws PolicyException {
    return PolicyParser.parse("pa.yaml", yaml).policies().stream().map(p -> (Policy.PeerAuthentication) p).toList();
  }

  private static String pa(String name, String ns, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: { name: %s, namespace: %s }
        spec:
        %s
        ---
        """.formatted(name, ns, spec.indent(2));
  }

  private static PeerAuthenticationResolver.MtlsSettings resolve(String yaml, String ns, Map<String, String> labels)
      throws PolicyException {
    return PeerAuthenticationResolver.resolve(ns, labels, parse(yaml), "istio-system");
  }

  @Test
  void withoutPoliciesEveryPortIsPermissive() throws Exception {
    var s = PeerAuthenticationResolver.resolve("shop", Map.of(), List.of(), "istio-system");
    assertThat(s.modeFor(8080)).isEqualTo(MtlsMode.PERMISSIVE);
    assertThat(s.acceptsPlaintext(8080)).isTrue();
  }

  @Test
  void meshThenNamespaceThenWorkloadThenPortEachOverrideTheLevelBefore() throws Exception {
    String yaml = pa("mesh", "istio-system", "mtls: { mode: STRICT }")
        + pa("legacy-ns", "legacy", "mtls: { mode: PERMISSIVE }")
        + pa("metrics", "shop", """
            selector: { matchLabels: { app: product } }
            mtls: { mode: UNSET }
            portLevelMtls: { "9090": { mode: DISABLE }, "8080": { mode: UNSET } }
            """);
    var product = resolve(yaml, "shop", Map.of("app", "product"));
    assertThat(product.mode()).as("UNSET inherits the mesh's STRICT").isEqualTo(MtlsMode.STRICT);
    assertThat(product.modeFor(8080)).isEqualTo(MtlsMode.STRICT);
    assertThat(product.modeFor(9090)).isEqualTo(MtlsMode.DISABLE);
    assertThat(product.acceptsPlaintext(8080)).isFalse();

    assertThat(resolve(yaml, "shop", Map.of("app", "cart")).modeFor(9090)).isEqualTo(MtlsMode.STRICT);
    assertThat(resolve(yaml, "legacy", Map.of("app", "product")).modeFor(9090))
        .as("the workload policy is in another namespace").isEqualTo(MtlsMode.PERMISSIVE);
  }

  @Test
  void workloadPolicyBeatsNamespacePolicy() throws Exception {
    String yaml = pa("ns", "shop", "mtls: { mode: STRICT }")
        + pa("w", "shop", "selector: { matchLabels: { app: legacy } }\nmtls: { mode: PERMISSIVE }");
    assertThat(resolve(yaml, "shop", Map.of("app", "legacy")).mode()).isEqualTo(MtlsMode.PERMISSIVE);
    assertThat(resolve(yaml, "shop", Map.of("app", "new")).mode()).isEqualTo(MtlsMode.STRICT);
  }

  @Test
  void portLevelWithoutSelectorAndUnknownModesAreRejected() {
    assertThatThrownBy(() -> parse(pa("p", "shop", "portLevelMtls: { \"80\": { mode: STRICT } }")))
        .hasMessageContaining("portLevelMtls: needs a workload selector");
    assertThatThrownBy(() -> parse(pa("p", "shop", "mtls: { mode: STRICTEST }")))
        .hasMessageContaining("'STRICTEST' is not a mode");
  }
}
