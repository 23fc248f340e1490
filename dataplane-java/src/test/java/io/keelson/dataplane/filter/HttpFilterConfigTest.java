package io.keelson.dataplane.filter;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.fault.FaultConfig;
import io.keelson.dataplane.filter.ratelimit.LocalRateLimitConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** http_filters and typed_per_filter_config are read through the filters' factories, and bad config is named by path. */
public class HttpFilterConfigTest {
  private static final String HCM = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  /** A one-listener bootstrap with {@code filters} (http_filters items indented by 10 spaces) before the router. */
  public static ProxySnapshot load(String filters) throws ConfigException {
    return BootstrapLoader.fromYaml(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", 1), filters), "f.yaml");
  }

  /** The problems refusing {@link #load}'s bootstrap; fails when it is accepted. */
  public static List<String> problems(String filters) {
    try {
      load(filters);
    } catch (ConfigException e) {
      return e.problems();
    }
    throw new AssertionError("accepted");
  }

  @Test
  void translatesFaultAndLocalRateLimitInOrder() throws Exception {
    ProxySnapshot s = load("""
                - name: fault
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                    delay: { fixed_delay: 0.25s, percentage: { numerator: 5, denominator: TEN_THOUSAND } }
                    abort: { grpc_status: 14, percentage: { numerator: 100 } }
                    max_active_faults: 7
                - name: rl
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                    stat_prefix: p
                    token_bucket: { max_tokens: 10, tokens_per_fill: 2, fill_interval: 2s }
                    filter_enabled: { default_value: { numerator: 100 }, runtime_key: k }
      """);
    List<HttpFilterConfig> filters = s.listeners().getFirst().http().httpFilters();
    assertThat(filters).extracting(HttpFilterConfig::name).containsExactly("fault", "rl");
    assertThat(filters.get(0).settings()).isEqualTo(
        new FaultConfig(Duration.ofMillis(250), false, new Percent(5, 10_000), 0, 14, false, Percent.ALL, 7));
    assertThat(filters.get(1).settings()).isEqualTo(
        new LocalRateLimitConfig("p", 429, 10, 2, Duration.ofSeconds(2), Percent.ALL, Percent.NONE, "", false));
    assertThat(s.warnings()).anyMatch(w -> w.contains("filter_enabled.runtime_key: ignored"));
  }

  @Test
  void aFaultWithoutPercentageAppliesToNoRequestAsInEnvoyAndIsReportedByName() throws Exception {
    ProxySnapshot s = load("""
                - name: fault
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                    delay: { fixed_delay: 1s }
                    abort: { http_status: 503 }
      """);
    assertThat(s.listeners().getFirst().http().httpFilters().getFirst().settings()).isEqualTo(
        new FaultConfig(Duration.ofSeconds(1), false, Percent.NONE, 503, -1, false, Percent.NONE, -1));
    assertThat(s.warnings()).contains(
        "f.yaml: " + HCM + ".http_filters[0].typed_config.delay.percentage: absent: Envoy reads it as 0%, so this delay never "
            + "applies; set percentage: { numerator: 100 } to apply it to every request",
        "f.yaml: " + HCM + ".http_filters[0].typed_config.abort.percentage: absent: Envoy reads it as 0%, so this abort never "
            + "applies; set percentage: { numerator: 100 } to apply it to every request");
  }

  @Test
  void loadsAnHttpRbacFilterFromYaml() throws Exception {
    ProxySnapshot s = load("""
                - name: envoy.filters.http.rbac
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                    rules:
                      action: ALLOW
                      policies:
                        readers:
                          permissions: [ { header: { name: ":method", string_match: { exact: GET } } } ]
                          principals: [ { any: true } ]
      """);
    List<HttpFilterConfig> filters = s.listeners().getFirst().http().httpFilters();
    assertThat(filters).extracting(HttpFilterConfig::name).containsExactly("envoy.filters.http.rbac");
    assertThat(filters.getFirst().settings()).isInstanceOf(io.keelson.dataplane.rbac.HttpRbacConfig.class);
  }

  @Test
  void skipsAnUnknownOptionalFilterWithAWarning() throws Exception {
    ProxySnapshot s = load("""
                - name: envoy.filters.http.lua
                  is_optional: true
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
      """);
    assertThat(s.listeners().getFirst().http().httpFilters()).isEmpty();
    assertThat(s.warnings()).containsExactly("f.yaml: " + HCM + ".http_filters[0]: http filter 'envoy.filters.http.lua' "
        + "(envoy.extensions.filters.http.lua.v3.Lua) is not supported and is_optional: skipped");
  }

  @Test
  void namesBadFilterFieldsByPath() {
    assertThat(problems("""
                - name: fault
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                    abort: { http_status: 700 }
                    headers: [ { name: x, present_match: true } ]
                - name: rl
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                    token_bucket: { max_tokens: 10, fill_interval: 0.01s }
      """)).containsExactlyInAnyOrder(
        "f.yaml: " + HCM + ".http_filters[0].typed_config.headers: not supported by Keelson (fault injection applies to every "
            + "request of the filter's routes; header matching is not supported); supported fields of HTTPFault: delay, abort, max_active_faults",
        "f.yaml: " + HCM + ".http_filters[0].typed_config.abort.http_status: 700 is out of range; expected 200-599",
        "f.yaml: " + HCM + ".http_filters[1].typed_config.stat_prefix: a stat_prefix is required (Envoy requires it too)",
        "f.yaml: " + HCM + ".http_filters[1].typed_config.token_bucket.fill_interval: 10ms is too short; expected at least 50ms");
  }

  @Test
  void aFilterAfterTheRouterIsRejected() {
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", 1), "").replace(
        "              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n",
        "              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"
            + "          - name: fault\n"
            + "            typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault }\n"),
        "f.yaml")).hasMessageContaining("the router must be the last http filter");
  }
}
