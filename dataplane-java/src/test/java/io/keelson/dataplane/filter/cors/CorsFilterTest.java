package io.keelson.dataplane.filter.cors;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.filter.FilterChain;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.StatsRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * envoy.filters.http.cors from an Envoy bootstrap: policies per virtual host and route (typed_per_filter_config
 * and the deprecated cors field), compiled into the listener's filter chain and run on request heads.
 */
class CorsFilterTest {
  private static final String HCM = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
  private static final String VH = HCM + ".route_config.virtual_hosts[0]";
  private static final String FILTER = """
                - name: envoy.filters.http.cors
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
      """;
  private static final String POLICY_TYPE = "\"@type\": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";
  private static final String ORIGIN = "https://app.example.com";

  private final StatsRegistry stats = new StatsRegistry();
  private FilterChain chain;
  private List<VirtualHostConfig> virtualHosts;

  /** One virtual host, its policy (YAML flow map body, or "" for none) and routes {@code /r0}, {@code /r1}... with theirs. */
  private static String vhost(String vhPolicy, String... routePolicies) {
    StringBuilder y = new StringBuilder("""
                  - name: main
                    domains: ["*"]
        """);
    if (!vhPolicy.isEmpty()) {
      y.append("            typed_per_filter_config:\n              envoy.filters.http.cors: { ")
          .append(POLICY_TYPE).append(", ").append(vhPolicy).append(" }\n");
    }
    y.append("            routes:\n");
    for (int i = 0; i < routePolicies.length; i++) {
      y.append("            - match: { prefix: \"/r").append(i).append("\" }\n              route: { cluster: a }\n");
      if (!routePolicies[i].isEmpty()) {
        y.append("              typed_per_filter_config:\n                envoy.filters.http.cors: { ")
            .append(POLICY_TYPE).append(", ").append(routePolicies[i]).append(" }\n");
      }
    }
    return y.toString().indent(6);
  }

  private static ProxySnapshot load(String vhosts) throws ConfigException {
    return BootstrapLoader.fromYaml(bootstrap(vhosts, cluster("a", "ROUND_ROBIN", 1), FILTER), "c.yaml");
  }

  private void compile(String vhosts) throws ConfigException {
    HttpConnectionManagerConfig hcm = load(vhosts).listeners().getFirst().http();
    chain = FilterChain.compile(hcm, new FilterResources(stats, "ingress_http", System::nanoTime, bound -> 0));
    virtualHosts = hcm.routeConfig().virtualHosts();
  }

  private static List<String> problems(String vhosts) {
    try {
      load(vhosts);
    } catch (ConfigException e) {
      return e.problems();
    }
    throw new AssertionError("accepted");
  }

  /** Runs the chain on {@code request} as routed to route {@code route} of the only virtual host. */
  private FilterContext run(int route, TestRequest request) {
    FilterContext c = new FilterContext();
    c.head = request;
    c.virtualHost = virtualHosts.getFirst();
    c.route = c.virtualHost.routes().get(route);
    chain.run(c);
    return c;
  }

  private static TestRequest preflight(String origin) {
    return TestRequest.request("OPTIONS", "/r0", "h").header("origin", origin).header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "x-a,x-b");
  }

  private static TestRequest get(String origin) {
    return TestRequest.get("/r0").header("origin", origin);
  }

  private long valid() {
    return stats.counter("http.ingress_http.cors.origin_valid").sum();
  }

  private long invalid() {
    return stats.counter("http.ingress_http.cors.origin_invalid").sum();
  }

  private static final String FULL = "allow_origin_string_match: [ { exact: \"" + ORIGIN + "\" } ], "
      + "allow_methods: \"GET,PUT\", allow_headers: \"content-type,x-a\", expose_headers: \"x-total\", max_age: \"600\", "
      + "allow_credentials: true";

  @Test
  void aPreflightFromAnAllowedOriginIsAnsweredLocallyWithThePolicy() throws Exception {
    compile(vhost("", FULL));
    FilterContext c = run(0, preflight(ORIGIN));
    assertThat(c.hasLocalReply()).isTrue();
    assertThat(c.status()).isEqualTo(200);
    assertThat(c.body()).isEmpty();
    assertThat(c.flag()).isEqualTo(ResponseFlag.CORS);
    assertThat(c.flag().code).isEqualTo("-");
    assertThat(c.replyHeaders()).isEqualTo("access-control-allow-origin: " + ORIGIN + "\r\n"
        + "access-control-allow-credentials: true\r\n"
        + "access-control-allow-methods: GET,PUT\r\n"
        + "access-control-allow-headers: content-type,x-a\r\n"
        + "access-control-max-age: 600\r\n");
    assertThat(valid()).isEqualTo(1);
    assertThat(invalid()).isZero();
  }

  @Test
  void anActualRequestFromAnAllowedOriginGoesOnAndItsResponseGetsTheHeaders() throws Exception {
    compile(vhost("", FULL));
    FilterContext c = run(0, get(ORIGIN));
    assertThat(c.hasLocalReply()).isFalse();
    assertThat(c.responseHeaders()).isNull();
    assertThat(c.responseHeadersToSet()).isEqualTo("access-control-allow-origin: " + ORIGIN + "\r\n"
        + "access-control-allow-credentials: true\r\n"
        + "access-control-expose-headers: x-total\r\n");
    // An OPTIONS without Access-Control-Request-Method is not a preflight: it is forwarded and decorated too.
    FilterContext options = run(0, TestRequest.request("OPTIONS", "/r0", "h").header("origin", ORIGIN));
    assertThat(options.hasLocalReply()).isFalse();
    assertThat(options.responseHeadersToSet()).startsWith("access-control-allow-origin: " + ORIGIN + "\r\n");
    assertThat(valid()).isEqualTo(2);
  }

  @Test
  void anotherOriginIsLeftUntouchedAndItsPreflightIsForwarded() throws Exception {
    compile(vhost("", FULL));
    for (TestRequest r : List.of(get("https://evil.example"), preflight("https://evil.example"),
        get("https://app.example.com.evil.example"))) {
      FilterContext c = run(0, r);
      assertThat(c.hasLocalReply()).isFalse();
      assertThat(c.replyHeaders()).isNull();
      assertThat(c.responseHeadersToSet()).isNull();
    }
    assertThat(invalid()).isEqualTo(3);
    assertThat(valid()).isZero();
  }

  @Test
  void requestsWithoutOriginAndRoutesWithoutPolicyAreNotCounted() throws Exception {
    compile(vhost("", FULL, ""));
    assertThat(run(0, TestRequest.get("/r0")).responseHeadersToSet()).isNull();
    assertThat(run(0, TestRequest.get("/r0").header("origin", "")).responseHeadersToSet()).isNull();
    assertThat(run(1, get(ORIGIN)).responseHeadersToSet()).isNull();
    assertThat(run(1, preflight(ORIGIN)).hasLocalReply()).isFalse();
    assertThat(valid() + invalid()).isZero();
  }

  @Test
  void withoutForwardingNotMatchingPreflightsTheyAreAnsweredWithoutAllowOrigin() throws Exception {
    compile(vhost("", FULL + ", forward_not_matching_preflights: false"));
    FilterContext c = run(0, preflight("https://evil.example"));
    assertThat(c.status()).isEqualTo(200);
    assertThat(c.replyHeaders()).doesNotContain("access-control-allow-origin").contains("access-control-allow-methods: GET,PUT\r\n");
  }

  @Test
  void prefixSuffixContainsRegexAndIgnoreCaseOrigins() throws Exception {
    compile(vhost("", "allow_origin_string_match: [ { prefix: \"https://pre.\" }, { suffix: \".suffix.example\" }, "
        + "{ contains: \"-inner-\" }, { safe_regex: { regex: \"https://[a-z]+\\\\.regex\\\\.example(:[0-9]+)?\" } }, "
        + "{ exact: \"https://Case.Example\", ignore_case: true } ]"));
    for (String allowed : List.of("https://pre.anything", "http://a.suffix.example", "https://x-inner-y.example",
        "https://abc.regex.example", "https://abc.regex.example:8443", "https://case.example")) {
      assertThat(run(0, get(allowed)).responseHeadersToSet()).as(allowed)
          .isEqualTo("access-control-allow-origin: " + allowed + "\r\n");
    }
    // The regex must match the whole origin, as Envoy's safe_regex does.
    for (String denied : List.of("http://pre.x", "https://suffix.example.org", "https://abc.regex.example.evil",
        "https://ABC.regex.example", "https://case.example.org")) {
      assertThat(run(0, get(denied)).responseHeadersToSet()).as(denied).isNull();
    }
  }

  @Test
  void aMatcherThatMatchesStarAllowsEveryOriginAndStarMethodsAndHeadersEchoTheRequest() throws Exception {
    compile(vhost("", "allow_origin_string_match: [ { exact: \"*\" } ], allow_methods: \"*\", allow_headers: \"*\", "
        + "allow_private_network_access: true"));
    FilterContext c = run(0, preflight("https://any.example").header("access-control-request-private-network", "true"));
    assertThat(c.replyHeaders()).isEqualTo("access-control-allow-origin: https://any.example\r\n"
        + "access-control-allow-methods: PUT\r\n"
        + "access-control-allow-headers: x-a,x-b\r\n"
        + "access-control-allow-private-network: true\r\n");
  }

  @Test
  void filterEnabledZeroTurnsThePolicyOffAndShadowModeOnlyCounts() throws Exception {
    compile(vhost("", FULL + ", filter_enabled: { default_value: { numerator: 0 } }",
        FULL + ", filter_enabled: { default_value: { numerator: 0 } }, shadow_enabled: { default_value: { numerator: 100 } }",
        FULL + ", filter_enabled: { default_value: { numerator: 100 } }"));
    FilterContext off = run(0, preflight(ORIGIN));
    assertThat(off.hasLocalReply()).isFalse();
    assertThat(run(0, get(ORIGIN)).responseHeadersToSet()).isNull();
    assertThat(valid() + invalid()).isZero();
    FilterContext shadow = run(1, preflight(ORIGIN));
    assertThat(shadow.hasLocalReply()).isFalse();
    assertThat(shadow.responseHeadersToSet()).isNull();
    assertThat(run(1, get("https://evil.example")).responseHeadersToSet()).isNull();
    assertThat(valid()).isEqualTo(1);
    assertThat(invalid()).isEqualTo(1);
    assertThat(run(2, preflight(ORIGIN)).status()).isEqualTo(200);
  }

  @Test
  void aRoutePolicyOverridesItsVirtualHostsFieldByField() throws Exception {
    compile(vhost(FULL, "allow_methods: \"DELETE\"", "", "filter_enabled: { default_value: { numerator: 0 } }"));
    // /r0: the virtual host's origins, headers, max age and credentials, the route's methods.
    assertThat(run(0, preflight(ORIGIN)).replyHeaders()).isEqualTo("access-control-allow-origin: " + ORIGIN + "\r\n"
        + "access-control-allow-credentials: true\r\n"
        + "access-control-allow-methods: DELETE\r\n"
        + "access-control-allow-headers: content-type,x-a\r\n"
        + "access-control-max-age: 600\r\n");
    // /r1 has no policy: the virtual host's applies.
    assertThat(run(1, preflight(ORIGIN)).replyHeaders()).contains("access-control-allow-methods: GET,PUT\r\n");
    // /r2: filter_enabled is the most specific policy's only.
    assertThat(run(2, preflight(ORIGIN)).hasLocalReply()).isFalse();
  }

  @Test
  void theDeprecatedCorsFieldAppliesOnlyWithoutTypedPolicies() throws Exception {
    String legacy = "allow_origin_string_match: [ { exact: \"https://legacy.example\" } ], allow_methods: \"GET\"";
    compile("""
                  - name: main
                    domains: ["*"]
                    cors: { %s }
                    routes:
                    - match: { prefix: "/r0" }
                      route: { cluster: a, cors: { allow_methods: "POST" } }
                    - match: { prefix: "/r1" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.cors: { %s, allow_origin_string_match: [ { exact: "%s" } ] }
      """.formatted(legacy, POLICY_TYPE, ORIGIN));
    assertThat(run(0, preflight("https://legacy.example")).replyHeaders())
        .isEqualTo("access-control-allow-origin: https://legacy.example\r\naccess-control-allow-methods: POST\r\n");
    // A typed policy on the route: the deprecated fields are not read at all.
    assertThat(run(1, preflight("https://legacy.example")).hasLocalReply()).isFalse();
    assertThat(run(1, preflight(ORIGIN)).replyHeaders()).isEqualTo("access-control-allow-origin: " + ORIGIN + "\r\n");
  }

  @Test
  void directResponsesAndRedirectsAreNotTouched() throws Exception {
    compile("""
                  - name: main
                    domains: ["*"]
                    typed_per_filter_config:
                      envoy.filters.http.cors: { %s, allow_origin_string_match: [ { exact: "%s" } ] }
                    routes:
                    - match: { prefix: "/r0" }
                      direct_response: { status: 204 }
      """.formatted(POLICY_TYPE, ORIGIN));
    assertThat(run(0, preflight(ORIGIN)).hasLocalReply()).isFalse();
    assertThat(run(0, get(ORIGIN)).responseHeadersToSet()).isNull();
    assertThat(valid()).isZero();
  }

  @Test
  void badPoliciesAreNamedByFieldPath() {
    List<String> problems = problems(vhost("allow_origin_string_match: [ { exact: a }, { ignore_case: true }, "
        + "{ safe_regex: { regex: \"(a\" } }, { safe_regex: { regex: \"(?=x)\" } } ]",
        "allow_methods: \"GET\\r\\nx-injected: 1\", max_age: \"1\\n\""));
    String vh = "c.yaml: " + VH + ".typed_per_filter_config[\"envoy.filters.http.cors\"]";
    String route = "c.yaml: " + VH + ".routes[0].typed_per_filter_config[\"envoy.filters.http.cors\"]";
    assertThat(problems).containsExactlyInAnyOrder(
        vh + ".allow_origin_string_match[1]: a match pattern is required; expected one of exact, prefix, suffix, contains, safe_regex",
        vh + ".allow_origin_string_match[2].safe_regex.regex: regex '(a' is invalid: Unclosed group near index 2",
        vh + ".allow_origin_string_match[3].safe_regex.regex: regex '(?=x)' uses lookahead, which RE2 (Envoy's regex "
            + "engine) does not accept; expected RE2 syntax",
        route + ".allow_methods: 'GET\\r\\nx-injected: 1' is not a valid header value; expected Latin-1 text without line breaks "
            + "or control characters",
        route + ".max_age: '1\\n' is not a valid header value; expected Latin-1 text without line breaks or control characters");
  }

  @Test
  void badDeprecatedCorsFieldsAreNamedByPathToo() {
    List<String> problems = problems("""
                  - name: main
                    domains: ["*"]
                    cors: { allow_origin_string_match: [ { safe_regex: { regex: "[" } } ] }
                    routes:
                    - match: { prefix: "/r0" }
                      route: { cluster: a, cors: { allow_origin_string_match: [ {} ] } }
      """);
    assertThat(problems).hasSize(2);
    assertThat(problems).anyMatch(p -> p.startsWith(
        "c.yaml: " + VH + ".cors.allow_origin_string_match[0].safe_regex.regex: regex '[' is invalid"));
    assertThat(problems).contains("c.yaml: " + VH + ".routes[0].route.cors.allow_origin_string_match[0]: a match pattern is "
        + "required; expected one of exact, prefix, suffix, contains, safe_regex");
  }
}
