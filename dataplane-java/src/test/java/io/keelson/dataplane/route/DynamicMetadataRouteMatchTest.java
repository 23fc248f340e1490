package io.keelson.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.DynamicMetadata;
import io.keelson.dataplane.testing.ProxyHarness;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Route {@code dynamic_metadata} matchers compiled from Envoy YAML: which route the table picks with and without the
 * filters' metadata (Istio's {@code istio_authn} claims), and the errors a bad matcher gets.
 */
class DynamicMetadataRouteMatchTest {
  private static RouteTable table(String matchers) throws ConfigException {
    String vhosts = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - name: claims
                        match:
                          prefix: /
                          dynamic_metadata:
        %s
                        route: { cluster: c }
                      - name: default
                        match: { prefix: / }
                        route: { cluster: c }
        """.formatted(matchers.stripTrailing());
    var snapshot = BootstrapLoader.fromYaml(ProxyHarness.bootstrap(vhosts, ProxyHarness.cluster("c", "ROUND_ROBIN", 1)),
        "t.yaml");
    return RouteTable.compile(snapshot.listeners().getFirst().http().routeConfig());
  }

  private static String routed(RouteTable t, DynamicMetadata md) {
    RouteEntry r = t.route(t.virtualHost("x"), TestRequest.get("/a"), md);
    return r.name();
  }

  /** Istio's authn metadata: request.auth.claims holding every claim as a list of strings. */
  private static DynamicMetadata claims(Map<String, Object> claims) {
    return (filter, path) -> {
      if (!filter.equals("istio_authn") || !path[0].equals("request.auth.claims")) {
        return null;
      }
      Object v = claims;
      for (int i = 1; i < path.length; i++) {
        v = v instanceof Map<?, ?> m ? m.get(path[i]) : null;
      }
      return v;
    };
  }

  @Test
  void aListClaimMatchesOneOfItsElementsAndNoMetadataFallsThrough() throws Exception {
    RouteTable t = table("""
                          - filter: istio_authn
                            path: [ { key: request.auth.claims }, { key: groups } ]
                            value: { list_match: { one_of: { string_match: { exact: admin } } } }
        """);
    assertThat(routed(t, null)).isEqualTo("default");
    assertThat(routed(t, claims(Map.of("groups", List.of("dev", "admin"))))).isEqualTo("claims");
    assertThat(routed(t, claims(Map.of("groups", List.of("dev"))))).isEqualTo("default");
    assertThat(routed(t, claims(Map.of("groups", "admin")))).as("a plain string is not a list").isEqualTo("default");
    assertThat(t.route(TestRequest.get("/a")).name()).as("the head-only lookup sees no metadata").isEqualTo("default");
  }

  @Test
  void invertAndNestedStringAndPresenceMatchers() throws Exception {
    RouteTable t = table("""
                          - filter: istio_authn
                            path: [ { key: request.auth.claims }, { key: org }, { key: tenant } ]
                            value: { string_match: { prefix: ac } }
                          - filter: istio_authn
                            path: [ { key: request.auth.claims }, { key: suspended } ]
                            value: { present_match: true }
                            invert: true
        """);
    assertThat(routed(t, claims(Map.of("org", Map.of("tenant", "acme"))))).isEqualTo("claims");
    assertThat(routed(t, claims(Map.of("org", Map.of("tenant", "acme"), "suspended", List.of("yes")))))
        .as("the inverted matcher").isEqualTo("default");
    assertThat(routed(t, claims(Map.of("org", Map.of("tenant", "initech"))))).isEqualTo("default");
  }

  @Test
  void badMatchersAreRefusedNamingTheField() {
    assertThatThrownBy(() -> table("""
                          - path: [ { key: request.auth.claims } ]
                            value: { double_match: { exact: 1 } }
                          - filter: istio_authn
                            path: [ { key: "" } ]
                            value: { list_match: { one_of: { list_match: { one_of: { present_match: true } } } } }
                          - filter: istio_authn
                            path: []
                            value: { string_match: { exact: x } }
        """)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("dynamic_metadata[0].filter: a filter namespace is required")
        .hasMessageContaining("dynamic_metadata[0].value: double_match is not supported; expected one of string_match,"
            + " bool_match, present_match, list_match (one_of)")
        .hasMessageContaining("dynamic_metadata[1].path[0].key: a key is required")
        .hasMessageContaining("dynamic_metadata[1].value.list_match.one_of.list_match: a list match inside a list match"
            + " is not supported")
        .hasMessageContaining("dynamic_metadata[2].path: at least one key is required");
  }
}
