package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import org.junit.jupiter.api.Test;

/**
 * SDS secret references in TLS contexts resolve only to the proxy's own identity ({@code default},
 * {@code ROOTCA}); anything else is refused naming the field (the positive path runs end to end in
 * the control module's SidecarMtlsTest).
 */
class SdsSecretReferencesTest {
  private static final String BASE = BootstrapLoaderTest.fixture("minimal.yaml");
  private static final String CHAIN = "    filter_chains:\n    - filters:";

  private static String listenerTls(String common) {
    assertThat(BASE).contains(CHAIN);
    return BASE.replace(CHAIN, """
            filter_chains:
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  require_client_certificate: true
                  common_tls_context:
        %s
              filters:""".formatted(common.stripIndent().strip().indent(12).stripTrailing()));
  }

  @Test
  void aProxyWithoutAWorkloadIdentityCannotResolveSdsSecrets() {
    String yaml = listenerTls("""
                    tls_certificate_sds_secret_configs: [ { name: default, sds_config: { ads: {} } } ]
                    validation_context_sds_secret_config: { name: ROOTCA, sds_config: { ads: {} } }""");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "config.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("static_resources.listeners[0].filter_chains[0].transport_socket.typed_config"
            + ".common_tls_context.tls_certificate_sds_secret_configs[0]")
        .hasMessageContaining("workload identity");
  }

  @Test
  void onlyTheProxysOwnSecretNamesAreAccepted() {
    String yaml = listenerTls("""
                    tls_certificate_sds_secret_configs: [ { name: other-cert, sds_config: { ads: {} } } ]
                    validation_context_sds_secret_config: { name: ROOTCA, sds_config: { ads: {} } }""");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "config.yaml"))
        .hasMessageContaining("tls_certificate_sds_secret_configs[0].name")
        .hasMessageContaining("'other-cert' is not a secret this proxy has; expected 'default'");
    String root = listenerTls("""
                    tls_certificate_sds_secret_configs: [ { name: default, sds_config: { ads: {} } } ]
                    validation_context_sds_secret_config: { name: bundle, sds_config: { ads: {} } }""");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(root, "config.yaml"))
        .hasMessageContaining("validation_context_sds_secret_config.name")
        .hasMessageContaining("expected 'ROOTCA'");
  }
}
