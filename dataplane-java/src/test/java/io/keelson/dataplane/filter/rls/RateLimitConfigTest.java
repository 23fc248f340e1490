package io.keelson.dataplane.filter.rls;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import org.junit.jupiter.api.Test;

/** The global rate limit config Keelson refuses (filter and route rate_limits), each with the field path and what was expected. */
class RateLimitConfigTest {
  private static final String GOOD_FILTER = """
      domain: edge
      rate_limit_service:
        transport_api_version: V3
        grpc_service: { envoy_grpc: { cluster_name: rls } }
      """;

  private static String config(String routeRateLimits, String filterFields) {
    String routes = """
        - name: main
          domains: ["*"]
          routes:
          - match: { prefix: "/" }
            route:
              cluster: a
        """ + routeRateLimits.stripIndent().indent(6);
    String filter = """
        - name: envoy.filters.http.ratelimit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
        """ + filterFields.stripIndent().indent(4);
    return bootstrap(routes.indent(12), cluster("a", "ROUND_ROBIN", 9) + cluster("rls", "ROUND_ROBIN", 10), filter.indent(10));
  }

  @Test
  void acceptsEveryAction() {
    assertThatCode(() -> BootstrapLoader.fromYaml(config("""
        include_vh_rate_limits: true
        rate_limits:
        - stage: 0
          disable_key: k
          actions:
          - destination_cluster: {}
          - remote_address: {}
          - masked_remote_address: { v4_prefix_mask_len: 24 }
          - generic_key: { descriptor_value: v }
          - request_headers: { header_name: x-user, descriptor_key: user }
          - header_value_match: { descriptor_value: v, expect_match: false, headers: [ { name: x-a, present_match: true } ] }
          - query_parameters: { query_parameter_name: q, descriptor_key: q, skip_if_absent: true }
          - query_parameter_value_match: { descriptor_value: v, query_parameters: [ { name: d, present_match: true } ] }
          - metadata: { descriptor_key: u, default_value: x, metadata_key: { key: k, path: [ { key: p } ] } }
          limit: { dynamic_metadata: { metadata_key: { key: k, path: [ { key: q } ] } } }
        """, GOOD_FILTER), "test.yaml")).doesNotThrowAnyException();
  }

  @Test
  void refusesUnsupportedActionsAndOverridesByFieldPath() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: [ { source_cluster: {} } ]
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("routes[0].route.rate_limits[0].actions[0].source_cluster");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: [ { extension: { name: x } } ]
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].actions[0].extension")
        .hasMessageContaining("expected one of destination_cluster");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions:
          - metadata: { descriptor_key: u, source: ROUTE_ENTRY, metadata_key: { key: k, path: [ { key: p } ] } }
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].actions[0].metadata.source")
        .hasMessageContaining("only DYNAMIC");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: [ { metadata: { descriptor_key: u, metadata_key: { key: k } } } ]
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].actions[0].metadata.metadata_key.path");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: [ { generic_key: { descriptor_value: v } } ]
          limit: { dynamic_metadata: { metadata_key: { key: "", path: [ { key: p } ] } } }
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].limit.dynamic_metadata.metadata_key.key");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: [ { query_parameter_value_match: { descriptor_value: v, query_parameters: [] } } ]
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].actions[0].query_parameter_value_match.query_parameters");
  }

  @Test
  void refusesBadActionValues() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: [ { request_headers: { header_name: x-user } } ]
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].actions[0].request_headers.descriptor_key");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("""
        rate_limits:
        - actions: []
        """, GOOD_FILTER), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limits[0].actions")
        .hasMessageContaining("at least one action");
  }

  @Test
  void refusesAFilterWithoutDomainOrService() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("", GOOD_FILTER.replace("domain: edge\n", "")), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_filters[0].typed_config.domain");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("", "domain: edge\n"), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("typed_config.rate_limit_service");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("", GOOD_FILTER.replace("V3", "AUTO")), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("rate_limit_service.transport_api_version");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("", GOOD_FILTER + "request_type: sometimes\n"), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("typed_config.request_type");
  }

  @Test
  void refusesPerRouteRateLimitsButTakesVhRateLimits() {
    String perRoute = """
        typed_per_filter_config:
          envoy.filters.http.ratelimit:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute
            vh_rate_limits: INCLUDE
        """;
    assertThatCode(() -> BootstrapLoader.fromYaml(config("", GOOD_FILTER).replace("                route:\n",
        perRoute.indent(16) + "                route:\n"), "test.yaml")).doesNotThrowAnyException();
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(config("", GOOD_FILTER).replace("                route:\n",
        (perRoute + "    domain: other\n").indent(16) + "                route:\n"), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("typed_per_filter_config[\"envoy.filters.http.ratelimit\"].domain");
  }
}
