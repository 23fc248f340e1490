package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.AccessLogFilterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.LocalReplyConfig;
import io.keelson.dataplane.testing.ProxyHarness;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Translation of the connection manager's local_reply_config, and what it refuses by field path. */
class LocalReplyConfigTest {
  private static String yaml(String localReplyConfig) {
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", 9)), localReplyConfig);
  }

  private static LocalReplyConfig translated(String localReplyConfig) throws Exception {
    return BootstrapLoader.fromYaml(yaml(localReplyConfig), "config.yaml").listeners().getFirst().http().localReply();
  }

  private static String rejected(String localReplyConfig) {
    try {
      BootstrapLoader.fromYaml(yaml(localReplyConfig), "config.yaml");
    } catch (ConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("config was accepted:\n" + localReplyConfig);
  }

  @Test
  void translatesMappersWithFileBodiesAndTheBodyFormat(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("body.txt"), "from a file");
    LocalReplyConfig c = translated("""
        local_reply_config:
          mappers:
          - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 404 } } } }
            status_code: 418
            body: { filename: %s }
            headers_to_add: [ { header: { key: X-Mapped, value: "yes" } } ]
            body_format_override: { text_format: "%%LOCAL_REPLY_BODY%%", content_type: text/html }
          body_format:
            json_format: { code: "%%RESPONSE_CODE%%", path: "%%REQ(:path)%%" }
        """.formatted(file));
    assertThat(c.mappers()).hasSize(1);
    var m = c.mappers().getFirst();
    assertThat(m.filter()).isEqualTo(new AccessLogFilterConfig.StatusCode(AccessLogFilterConfig.Op.EQ, 404));
    assertThat(m.statusCode()).isEqualTo(418);
    assertThat(m.body()).isEqualTo("from a file");
    assertThat(m.headersToAdd()).singleElement().satisfies(h -> assertThat(h.name() + "=" + h.value()).isEqualTo("x-mapped=yes"));
    assertThat(m.bodyFormat().contentType()).isEqualTo("text/html");
    assertThat(c.bodyFormat().jsonFormat()).containsEntry("code", "%RESPONSE_CODE%");
    assertThat(c.bodyFormat().contentType()).isEqualTo("application/json");
    assertThat(translated("generate_request_id: true")).isEqualTo(LocalReplyConfig.NONE);
  }

  @Test
  void refusesWhatItCannotDoByFieldPath() {
    assertThat(rejected("""
        local_reply_config: { body_format: { text_format: "%LOCAL_REPLY_BODY%", omit_empty_values: true } }
        """)).contains("local_reply_config.body_format.omit_empty_values");
    assertThat(rejected("""
        local_reply_config: { body_format: { text_format: "%RESP(x-a)%" } }
        """)).contains("local_reply_config").contains("%RESP(...)% is not supported");
    assertThat(rejected("""
        local_reply_config: { mappers: [ { status_code: 418 } ] }
        """)).contains("local_reply_config.mappers[0].filter");
    assertThat(rejected("""
        local_reply_config: { mappers: [ { filter: { not_health_check_filter: {} }, body: { filename: /nonexistent/keelson-body } } ] }
        """)).contains("local_reply_config.mappers[0].body.filename");
    assertThat(rejected("""
        local_reply_config: { mappers: [ { filter: { not_health_check_filter: {} }, status_code: 99 } ] }
        """)).contains("local_reply_config.mappers[0].status_code");
    assertThat(rejected("""
        local_reply_config:
          mappers: [ { filter: { not_health_check_filter: {} }, headers_to_add: [ { header: { key: x-a, value: "%START_TIME%" } } ] } ]
        """)).contains("local_reply_config.mappers[0].headers_to_add[0].header.value");
    assertThat(rejected("""
        local_reply_config: { body_format: { text_format: "%NOPE%" } }
        """)).contains("local_reply_config.body_format").contains("%NOPE%");
    assertThat(rejected(ProxyHarness.fileAccessLog(Path.of("/tmp/keelson-unused.log"), "%LOCAL_REPLY_BODY%")))
        .contains("access_log[0].typed_config.log_format: %LOCAL_REPLY_BODY% is not supported in access logs");
  }

  @Test
  void refusesInjectedOrFramingHeadersInAMapperByFieldPath() {
    String at = "local_reply_config.mappers[0].headers_to_add";
    assertThat(rejected("""
        local_reply_config:
          mappers: [ { filter: { not_health_check_filter: {} }, headers_to_add: [ { header: { key: x-a, value: "b\\r\\nx-evil: 1" } } ] } ]
        """)).contains(at + "[0].header.value: holds CR, LF or NUL");
    assertThat(rejected("""
        local_reply_config:
          mappers: [ { filter: { not_health_check_filter: {} }, headers_to_add: [ { header: { key: "x a", value: b } } ] } ]
        """)).contains(at + "[0].header.key: 'x a' is not a header name");
    assertThat(rejected("""
        local_reply_config:
          mappers:
          - filter: { not_health_check_filter: {} }
            headers_to_add: [ { header: { key: "x a", value: b } }, { header: { key: x-b, value: "%START_TIME%" } } ]
        """)).as("reported at the field's own index").contains(at + "[1].header.value: command operators");
    for (String framing : new String[] {"Content-Length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "host"}) {
      assertThat(rejected("""
          local_reply_config:
            mappers: [ { filter: { not_health_check_filter: {} }, headers_to_add: [ { header: { key: %s, value: "1" } } ] } ]
          """.formatted(framing))).contains(at + "[0].header.key: '" + framing.toLowerCase(java.util.Locale.ROOT) + "' cannot be added here");
    }
  }
}
