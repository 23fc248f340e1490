package io.keelson.dataplane.filter.statefulsession;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the stateful session filter's config refuses (by field), and how a session's value names an endpoint. */
class StatefulSessionConfigTest {
  private static String withFilter(String typedConfig) {
    return bootstrap(io.keelson.dataplane.testing.ProxyHarness.allTo("svc"), cluster("svc", "ROUND_ROBIN", 9), """
                  - name: envoy.filters.http.stateful_session
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession
        %s
        """.formatted(typedConfig.stripTrailing().indent(14).stripTrailing()));
  }

  @Test
  void refusesSessionStatesItDoesNotRunAndBadNamesByField() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("""
        session_state:
          name: envoy.http.stateful_session.envelope
          typed_config: { "@type": type.googleapis.com/google.protobuf.Empty }
        """), "c.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_filters[0].typed_config.session_state.typed_config: session state google.protobuf.Empty is not supported")
        .hasMessageContaining("envoy.http.stateful_session.cookie");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("""
        session_state:
          name: envoy.http.stateful_session.cookie
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState
            cookie: { name: "bad name" }
        """), "c.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("session_state.typed_config.cookie.name: \"bad name\" is not a cookie name");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("""
        session_state:
          name: envoy.http.stateful_session.header
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState
            name: "x:y"
        """), "c.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("session_state.typed_config.name: \"x:y\" is not a header name");
    for (String reserved : java.util.List.of("content-length", "Transfer-Encoding", "connection", "host", "te", "upgrade",
        "set-cookie", "keep-alive")) {
      assertThatThrownBy(() -> BootstrapLoader.fromYaml(withFilter("""
          session_state:
            name: envoy.http.stateful_session.header
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState
              name: "%s"
          """.formatted(reserved)), "c.yaml")).as(reserved).isInstanceOf(ConfigException.class)
          .hasMessageContaining("session_state.typed_config.name: \"" + reserved + "\" ")
          .hasMessageContaining("expected a header of its own");
    }
  }

  @Test
  void refusesTheFilterAfterAnExternalCheck() {
    String yaml = withFilter("strict: false").replace("          - name: envoy.filters.http.stateful_session\n", """
                  - name: envoy.filters.http.ext_authz
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
                      http_service: { server_uri: { uri: "http://127.0.0.1:9", cluster: svc, timeout: 1s } }
                  - name: envoy.filters.http.stateful_session
        """);
    assertThat(yaml).contains("ext_authz.v3.ExtAuthz");
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "c.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("http_filters[1]: a stateful_session filter after the external check 'envoy.filters.http.ext_authz'"
            + " is not supported");
  }

  @Test
  void anEmptyFilterIsAcceptedAsIstioSendsIt() throws Exception {
    assertThat(BootstrapLoader.fromYaml(withFilter("strict: false"), "c.yaml")).isNotNull();
  }

  @Test
  void aValueNamesAnEndpointAsEnvoyWritesItOrNoneWithoutAnError() {
    var hosts = new SessionHosts(List.of(new EndpointConfig("10.0.0.1", 80, 1), new EndpointConfig("::1", 8080, 1)));
    assertThat(hosts.encoded(0)).isEqualTo("MTAuMC4wLjE6ODA="); // base64("10.0.0.1:80")
    assertThat(hosts.indexOf("MTAuMC4wLjE6ODA=")).isZero();
    assertThat(hosts.indexOf("MTAuMC4wLjE6ODA")).as("unpadded").isZero();
    assertThat(hosts.indexOf(java.util.Base64.getEncoder().encodeToString("[::1]:8080".getBytes()))).isEqualTo(1);
    // newer Envoys' envoy.Cookie message: field 1 the address, field 2 the expiry
    byte[] proto = {0x0a, 11, '1', '0', '.', '0', '.', '0', '.', '1', ':', '8', '0', 0x10, 0x05};
    assertThat(hosts.indexOf(java.util.Base64.getEncoder().encodeToString(proto))).isZero();
    assertThat(hosts.indexOf("aGVsbG8=")).as("hello: an address of no endpoint").isEqualTo(SessionHosts.UNKNOWN);
    assertThat(hosts.indexOf("%%%")).isEqualTo(SessionHosts.NONE);
    assertThat(hosts.indexOf(null)).isEqualTo(SessionHosts.NONE);
  }
}
