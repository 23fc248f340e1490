package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import org.junit.jupiter.api.Test;

/**
 * EnvoyFilter documents: Istio's rate limit recipe parses into typed patches; bad input is refused naming the field
 * (unknown applyTo, operation, context; an operation the applyTo does not take; a value that is not its target type;
 * a type or field Keelson's data plane would refuse; Istio fields Keelson does not apply).
 */
class EnvoyFilterParserTest {
  private static final String HEAD = """
      apiVersion: networking.istio.io/v1alpha3
      kind: EnvoyFilter
      metadata: { name: filter-ratelimit, namespace: shop }
      spec:
      """;

  private static String errors(String spec) {
    try {
      PolicyParser.parse("ef.yaml", HEAD + spec.stripIndent().indent(2));
      return "";
    } catch (PolicyException e) {
      return e.getMessage();
    }
  }

  @Test
  void parsesIstiosRateLimitRecipe() throws Exception {
    Policy.EnvoyFilter f = (Policy.EnvoyFilter) PolicyParser.parse("ef.yaml", HEAD + """
          workloadSelector: { labels: { app: product } }
          priority: 10
          configPatches:
          - applyTo: HTTP_FILTER
            match:
              context: SIDECAR_INBOUND
              listener:
                filterChain:
                  filter:
                    name: "envoy.filters.network.http_connection_manager"
                    subFilter: { name: "envoy.filters.http.router" }
            patch:
              operation: INSERT_BEFORE
              value:
                name: envoy.filters.http.ratelimit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
                  domain: ratelimit
                  failure_mode_deny: true
                  timeout: 10s
                  rate_limit_service:
                    grpc_service:
                      envoy_grpc: { cluster_name: rate_limit_cluster }
                    transport_api_version: V3
          - applyTo: VIRTUAL_HOST
            match:
              context: SIDECAR_INBOUND
              routeConfiguration: { vhost: { name: "", route: { action: ANY } } }
            patch:
              operation: MERGE
              value:
                rate_limits:
                - actions: [ { request_headers: { header_name: ":path", descriptor_key: "PATH" } } ]
        """).policies().getFirst();
    assertThat(f.namespace()).isEqualTo("shop");
    assertThat(f.selector()).containsEntry("app", "product");
    assertThat(f.priority()).isEqualTo(10);
    assertThat(f.patches()).hasSize(2);
    Policy.EnvoyFilterPatch insert = f.patches().getFirst();
    assertThat(insert.applyTo()).isEqualTo(Policy.EnvoyFilterPatch.ApplyTo.HTTP_FILTER);
    assertThat(insert.context()).isEqualTo(Policy.EnvoyFilterPatch.Context.SIDECAR_INBOUND);
    assertThat(insert.listener().subFilter()).isEqualTo("envoy.filters.http.router");
    assertThat(((HttpFilter) insert.value()).getTypedConfig().getTypeUrl())
        .endsWith("envoy.extensions.filters.http.ratelimit.v3.RateLimit");
    assertThat(f.patches().get(1).route().vhost()).as("Istio's empty vhost name: any").isNull();
  }

  private static final String PATCH = """
      configPatches:
      - applyTo: %s
        match: { context: %s }
        patch:
          operation: %s
          value: %s
      """;

  @Test
  void refusesUnknownApplyToOperationAndContextNamingTheField() {
    assertThat(errors(PATCH.formatted("HTTP_FILTERS", "ANY", "ADD", "{ name: x }")))
        .contains("spec.configPatches[0].applyTo: 'HTTP_FILTERS' is not an applyTo; expected one of");
    assertThat(errors(PATCH.formatted("HTTP_FILTER", "SIDECAR", "ADD", "{ name: x }")))
        .contains("spec.configPatches[0].match.context: 'SIDECAR' is not supported; expected one of ANY,"
            + " SIDECAR_INBOUND, SIDECAR_OUTBOUND, GATEWAY");
    assertThat(errors(PATCH.formatted("HTTP_FILTER", "ANY", "APPEND", "{ name: x }")))
        .contains("spec.configPatches[0].patch.operation: 'APPEND' is not supported");
    assertThat(errors(PATCH.formatted("CLUSTER", "ANY", "INSERT_BEFORE", "{ name: x }")))
        .contains("patch.operation: INSERT_BEFORE is not supported for applyTo CLUSTER; expected one of MERGE, ADD,"
            + " REMOVE");
    assertThat(errors(PATCH.formatted("LISTENER_FILTER", "ANY", "ADD", "{ name: x }")))
        .contains("applyTo: LISTENER_FILTER patches are not supported");
  }

  @Test
  void refusesValuesThatAreNotTheTargetTypeOrThatTheDataPlaneWouldRefuse() {
    assertThat(errors(PATCH.formatted("CLUSTER", "ANY", "ADD", "{ name: x, no_such_field: 1 }")))
        .contains("spec.configPatches[0].patch.value: is not a valid envoy.config.cluster.v3.Cluster")
        .contains("no_such_field");
    assertThat(errors(PATCH.formatted("HTTP_FILTER", "ANY", "ADD", """
        { name: envoy.filters.http.lua, typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua", default_source_code: { inline_string: "x" } } }""")))
        .contains("patch.value: is not a valid envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter")
        .contains("envoy.extensions.filters.http.lua.v3.Lua");
    // A real Envoy field the data plane does not run: every proxy would NACK it, so it is refused here.
    assertThat(errors(PATCH.formatted("CLUSTER", "ANY", "ADD", "{ name: x, type: STATIC, preconnect_policy: { per_upstream_preconnect_ratio: 1.5 } }")))
        .contains("Keelson's data plane would refuse this patch: value.preconnect_policy: not supported by Keelson");
    assertThat(errors(PATCH.formatted("VIRTUAL_HOST", "ANY", "MERGE", "[ 1 ]")))
        .contains("patch.value: expected a mapping");
    assertThat(errors(PATCH.formatted("HTTP_FILTER", "ANY", "ADD", "{ is_optional: true }")))
        .contains("patch.value.name: is required for ADD of a HTTP_FILTER");
  }

  @Test
  void refusesIstioFieldsKeelsonDoesNotApply() {
    assertThat(errors("""
        targetRefs: [ { kind: Gateway, name: gw } ]
        configPatches:
        - applyTo: HTTP_FILTER
          match:
            proxy: { proxyVersion: '^1\\.2.*' }
            listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } }
          patch:
            operation: INSERT_BEFORE
            filterClass: AUTHZ
            value: { name: x }
        """))
        .contains("spec.targetRefs: targetRefs is not supported")
        .contains("spec.configPatches[0].match.proxy: match.proxy (proxyVersion, metadata) is not supported")
        .contains("spec.configPatches[0].patch.filterClass: filterClass is not supported")
        .contains("spec.configPatches[0].match.listener.filterChain.filter.subFilter.name: is required for INSERT_BEFORE");
  }
}
