package io.keelson.dataplane.filter.csrf;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.csrf through a real proxy (an Envoy bootstrap) to a real upstream, with curl over HTTP/1.1 and h2c
 * (prior knowledge), the policy stage inline and on the ring: mutating requests from another origin (or none) answered
 * 403 through local_reply_config, same-host and additional origins forwarded, other methods untouched, a route's
 * shadow policy counting without enforcing, Envoy's counters.
 */
class CsrfProxyTest {
  private static final String[] HTTP_VERSIONS = {"--http1.1", "--http2-prior-knowledge"};
  private static final String POLICY = "\"@type\": type.googleapis.com/envoy.extensions.filters.http.csrf.v3.CsrfPolicy";
  private static final String FILTERS = """
                - name: envoy.filters.http.csrf
                  typed_config:
                    %s
                    filter_enabled: { default_value: { numerator: 100 } }
                    additional_origins: [ { suffix: ".trusted.example" } ]
      """.formatted(POLICY);
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/shadow" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.csrf:
                          %s
                          filter_enabled: { default_value: { numerator: 0 } }
                          shadow_enabled: { default_value: { numerator: 100 } }
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """.formatted(POLICY);
  private static final String LOCAL_REPLIES = """
      local_reply_config:
        mappers:
        - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 403 } } } }
          headers_to_add: [ { header: { key: x-local-reply, value: mapped } } ]
          body_format_override: { text_format: "denied: %LOCAL_REPLY_BODY%" }
      """;

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void mutatingRequestsFromAnotherOriginAreRefusedAndTheRestForwarded(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(ProxyHarness.withHcm(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()),
            FILTERS), LOCAL_REPLIES), mode)) {
      String base = "http://127.0.0.1:" + proxy.port();
      for (String v : HTTP_VERSIONS) {
        int before = a.requests.get();
        assertThat(send(v, "POST", base + "/x", "Origin: " + base)).as(v).isEqualTo("200");
        assertThat(send(v, "POST", base + "/x", "Origin: https://app.trusted.example")).as(v).isEqualTo("200");
        assertThat(send(v, "GET", base + "/x", "Origin: https://evil.example")).as(v).isEqualTo("200");
        assertThat(a.requests.get() - before).as(v).isEqualTo(3);

        // Refused: another origin, another port, a Referer from elsewhere, no source at all (Envoy refuses it too).
        for (String method : new String[] {"POST", "PUT", "DELETE", "PATCH"}) {
          assertThat(send(v, method, base + "/x", "Origin: https://evil.example")).as(v + " " + method)
              .isEqualTo("403 mapped denied: Invalid origin");
        }
        assertThat(send(v, "POST", base + "/x", "Origin: http://127.0.0.1:1")).as(v).startsWith("403 ");
        assertThat(send(v, "POST", base + "/x", "Referer: https://evil.example/form")).as(v).startsWith("403 ");
        assertThat(send(v, "POST", base + "/x")).as(v).startsWith("403 ");
        assertThat(a.requests.get() - before).as(v).isEqualTo(3);

        // The route's shadow policy evaluates and counts, but forwards.
        assertThat(send(v, "POST", base + "/shadow", "Origin: https://evil.example")).as(v).isEqualTo("200");
        assertThat(a.requests.get() - before).as(v).isEqualTo(4);
      }
      assertThat(proxy.stat("http.ingress_http.csrf.request_valid")).isEqualTo(2 * 2);
      assertThat(proxy.stat("http.ingress_http.csrf.request_invalid")).isEqualTo(2 * 8);
      assertThat(proxy.stat("http.ingress_http.csrf.missing_source_origin")).isEqualTo(2);
    }
  }

  @Test
  void aPolicyWithoutFilterEnabledIsRefusedByPath() {
    String yaml = bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", 9), """
                  - name: envoy.filters.http.csrf
                    typed_config:
                      %s
                      additional_origins: [ { safe_regex: { regex: "(" } } ]
        """.formatted(POLICY));
    Throwable t = catchThrowable(() -> BootstrapLoader.fromYaml(yaml, "c.yaml"));
    assertThat(t).isInstanceOf(ConfigException.class);
    assertThat(((ConfigException) t).problems()).anySatisfy(p -> assertThat(p).contains("http_filters[0].typed_config.filter_enabled"));
  }

  /** curl {@code method} with {@code headers}: "200" when forwarded, else "status x-local-reply body". */
  private static String send(String version, String method, String url, String... headers) throws Exception {
    List<String> args = new ArrayList<>(List.of(version, "-X", method, "-w", "\n%{http_code} %header{x-local-reply}"));
    for (String h : headers) {
      args.add("-H");
      args.add(h);
    }
    args.add(url);
    String out = CurlStatus.output(args.toArray(new String[0]));
    int nl = out.lastIndexOf('\n');
    String status = out.substring(nl + 1).strip();
    return status.startsWith("200") ? "200" : status + " " + (nl < 0 ? "" : out.substring(0, nl).strip());
  }
}
