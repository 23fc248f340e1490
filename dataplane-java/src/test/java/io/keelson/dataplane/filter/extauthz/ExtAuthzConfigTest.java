package io.keelson.dataplane.filter.extauthz;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import org.junit.jupiter.api.Test;

/** The ext_authz config Keelson refuses, each with the field path and what was expected. */
class ExtAuthzConfigTest {
  private static final String ROUTES = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: a }
      """.indent(12);

  private static String withFilter(String typedConfigFields) {
    String filter = """
        - name: envoy.filters.http.ext_authz
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
        """ + typedConfigFields.stripIndent().indent(4);
    return bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", 9) + cluster("authz", "ROUND_ROBIN", 10), filter.indent(10));
  }

  private static final String GOOD_SERVICE = """
      http_service:
        server_uri: { uri: "http://authz", cluster: authz, timeout: 0.2s }
      """;

  @Test
  void acceptsAMinimalHttpService() {
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter(GOOD_SERVICE), "test.yaml")).doesNotThrowAnyException();
  }

  @Test
  void rejectsAMissingClusterOrTimeoutWithTheFieldPath() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("""
        http_service:
          server_uri: { uri: "http://authz", timeout: 0.2s }
        """), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_service.server_uri.cluster");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("""
        http_service:
          server_uri: { uri: "http://authz", cluster: authz }
        """), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_service.server_uri.timeout")
        .hasMessageContaining("timeout is required");
  }

  @Test
  void rejectsABadPathPrefixAndUnsupportedFields() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter(GOOD_SERVICE.replace("timeout: 0.2s }",
        "timeout: 0.2s }\n  path_prefix: no-slash")), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_service.path_prefix")
        .hasMessageContaining("expected a path starting with '/'");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter(GOOD_SERVICE + "with_request_body: { max_request_bytes: 10 }\n"),
        "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("with_request_body");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter(GOOD_SERVICE + "status_on_error: { code: Continue }\n"),
        "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("status_on_error.code");
  }

  @Test
  void rejectsNoServiceAtAll() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("failure_mode_allow: true\n"), "test.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_filters[0].typed_config")
        .hasMessageContaining("expected http_service");
  }
}
