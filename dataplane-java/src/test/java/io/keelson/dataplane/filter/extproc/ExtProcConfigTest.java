package io.keelson.dataplane.filter.extproc;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import org.junit.jupiter.api.Test;

/** The ext_proc config Keelson refuses, each with the field path and what was expected. */
class ExtProcConfigTest {
  private static final String ROUTES = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: a }
      """.indent(12);

  private static String withFilter(String typedConfigFields) {
    String filter = """
        - name: envoy.filters.http.ext_proc
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
            grpc_service: { envoy_grpc: { cluster_name: processor } }
        """ + typedConfigFields.stripIndent().indent(4);
    return bootstrap(ROUTES, cluster("a", "ROUND_ROBIN", 9) + cluster("processor", "ROUND_ROBIN", 10), filter.indent(10));
  }

  private static void refused(String fields, String path, String why) {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter(fields), "test.yaml"))
        .isInstanceOf(ConfigException.class).hasMessageContaining(path).hasMessageContaining(why);
  }

  @Test
  void acceptsTheRequestHeadersPhase() {
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter("""
        processing_mode: { request_header_mode: SEND, response_header_mode: SKIP }
        failure_mode_allow: true
        message_timeout: 1s
        """), "test.yaml")).doesNotThrowAnyException();
  }

  @Test
  void acceptsEnvoysDefaultModeWhichSendsRequestAndResponseHeaders() {
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter(""), "test.yaml")).doesNotThrowAnyException();
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter("processing_mode: {}"), "test.yaml"))
        .doesNotThrowAnyException();
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter("processing_mode: { response_header_mode: SEND }"),
        "test.yaml")).doesNotThrowAnyException();
  }

  @Test
  void acceptsStreamedBodies() {
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter(
        "processing_mode: { request_body_mode: STREAMED, response_body_mode: STREAMED }"), "test.yaml"))
        .doesNotThrowAnyException();
  }

  @Test
  void acceptsAllowedOverrideModes() {
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter("allow_mode_override: true\nallowed_override_modes: "
        + "[{ response_body_mode: STREAMED }, {}]"), "test.yaml")).doesNotThrowAnyException();
  }

  @Test
  void acceptsTrailersSentWithoutABufferedBody() {
    assertThatCode(() -> BootstrapLoader.fromYaml(withFilter("processing_mode: { request_trailer_mode: SEND, "
        + "response_trailer_mode: SEND, request_body_mode: STREAMED }"), "test.yaml")).doesNotThrowAnyException();
  }

  @Test
  void refusesBodiesTrailersAndModeOverrideByField() {
    String skip = "processing_mode: { response_header_mode: SKIP, %s }";
    refused(skip.formatted("request_body_mode: BUFFERED_PARTIAL"), "processing_mode.request_body_mode",
        "expected NONE, BUFFERED or STREAMED");
    refused(skip.formatted("response_body_mode: BUFFERED_PARTIAL"), "processing_mode.response_body_mode",
        "expected NONE");
    refused(skip.formatted("request_trailer_mode: SEND, request_body_mode: BUFFERED"),
        "processing_mode.request_trailer_mode", "the body mode NONE or STREAMED");
    refused(skip.formatted("response_trailer_mode: SEND, response_body_mode: BUFFERED"),
        "processing_mode.response_trailer_mode", "the body mode NONE or STREAMED");
    refused("send_body_without_waiting_for_header_response: true", "send_body_without_waiting_for_header_response",
        "a body is sent once its headers were answered");
    refused(skip.formatted("request_header_mode: SKIP") + "\nmutation_rules: { allow_all_routing: true }",
        "mutation_rules.allow_all_routing", "default mutation rules");
    refused(skip.formatted("request_header_mode: SKIP") + "\nrequest_attributes: [request.path]", "request_attributes",
        "not supported");
  }
}
