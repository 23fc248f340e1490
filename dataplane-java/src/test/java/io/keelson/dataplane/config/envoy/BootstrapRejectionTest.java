package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import org.junit.jupiter.api.Test;

/** Every config Keelson cannot run is rejected with a message naming the file, the field path and what is expected. */
class BootstrapRejectionTest {
  private static final String BASE = BootstrapLoaderTest.fixture("minimal.yaml");
  private static final String HCM = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
  private static final String ROUTES = HCM + ".route_config.virtual_hosts[0].routes";

  /** The base config with one exact piece of text replaced (fails loudly if the text is not there). */
  private static String edit(String config, String from, String to) {
    assertThat(config).contains(from);
    return config.replace(from, to);
  }

  private static String edit(String from, String to) {
    return edit(BASE, from, to);
  }

  static ConfigException rejected(String yaml) {
    try {
      BootstrapLoader.fromYaml(yaml, "config.yaml");
    } catch (ConfigException e) {
      return e;
    }
    throw new AssertionError("config was accepted:\n" + yaml);
  }

  @Test
  void baseConfigIsAccepted() throws Exception {
    assertThat(BootstrapLoader.fromYaml(BASE, "config.yaml").warnings()).isEmpty();
  }

  @Test
  void rejectsAnUnknownAccessLogOperatorAndAccessLogFiltersByPath() {
    String yaml = edit("          http_filters:\n", """
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: /tmp/x.log
                      log_format: { text_format_source: { inline_string: "%RESPONSE_CODE% %NO_SUCH_THING%" } }
                  - name: envoy.access_loggers.stdout
                    filter: { status_code_filter: { comparison: { op: GE, value: { default_value: 400, runtime_key: k } } } }
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                  http_filters:
        """);
    assertThat(rejected(yaml).problems()).containsExactlyInAnyOrder(
        "config.yaml: " + HCM + ".access_log[1].filter.status_code_filter.comparison.value.runtime_key: not supported by "
            + "Keelson (Keelson has no runtime to read access-log filter values from; expected a default_value only); "
            + "supported fields of RuntimeUInt32: default_value",
        "config.yaml: " + HCM + ".access_log[0].typed_config.log_format: operator %NO_SUCH_THING% is not supported; supported: "
            + "%START_TIME%, %REQ(X)%, %RESP(X)%, %PROTOCOL%, %RESPONSE_CODE%, %RESPONSE_FLAGS%, %BYTES_RECEIVED%, "
            + "%BYTES_SENT%, %DURATION%, %UPSTREAM_HOST%, %UPSTREAM_CLUSTER%, %DOWNSTREAM_REMOTE_ADDRESS%, "
            + "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%, %DOWNSTREAM_LOCAL_ADDRESS%, %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%, "
            + "%ROUTE_NAME%, %REQUESTED_SERVER_NAME%, %UPSTREAM_LOCAL_ADDRESS%, %DOWNSTREAM_TLS_VERSION%, "
            + "%DOWNSTREAM_PEER_URI_SAN%, %LOCAL_REPLY_BODY% (local_reply_config body formats only)");
  }

  @Test
  void refusesAccessLogFiltersKeelsonDoesNotRunByPath() {
    String yaml = edit("          http_filters:\n", """
                  access_log:
                  - name: envoy.access_loggers.stdout
                    filter: { runtime_filter: { runtime_key: sample } }
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog }
                  - name: envoy.access_loggers.stdout
                    filter:
                      or_filter:
                        filters:
                        - { metadata_filter: {} }
                        - extension_filter:
                            name: envoy.access_loggers.extension_filters.cel
                            typed_config:
                              "@type": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter
                              expression: "response.code >= '400'"
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog }
                  - name: envoy.access_loggers.stdout
                    filter: { and_filter: { filters: [ { header_filter: { header: { name: x, range_match: { start: 1, end: 2 } } } }, { traceable_filter: {} } ] } }
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog }
                  http_filters:
        """);
    assertThat(rejected(yaml).problems())
        .anySatisfy(p -> assertThat(p).startsWith("config.yaml: " + HCM + ".access_log[0].filter.runtime_filter: not supported by"
            + " Keelson (runtime sampling is not supported"))
        .anySatisfy(p -> assertThat(p).startsWith("config.yaml: " + HCM + ".access_log[1].filter.or_filter.filters[0].metadata_filter: not supported"))
        .anySatisfy(p -> assertThat(p).isEqualTo("config.yaml: " + HCM + ".access_log[1].filter.or_filter.filters[1]"
            + ".extension_filter.typed_config.expression: CEL expression 'response.code >= '400'' at column 15: no "
            + "matching overload for int >= string; expected both sides of one type"))
        .anySatisfy(p -> assertThat(p).startsWith("config.yaml: " + HCM
            + ".access_log[2].filter.and_filter.filters[0].header_filter.header.range_match: not supported"));
  }

  @Test
  void acceptsMaglevAndRingHashClustersUsedByAnHttpRoute() throws Exception {
    assertThat(BootstrapLoader.fromYaml(edit("lb_policy: ROUND_ROBIN", "lb_policy: MAGLEV"), "config.yaml").warnings()).isEmpty();
    assertThat(BootstrapLoader.fromYaml(edit("lb_policy: ROUND_ROBIN", "lb_policy: RING_HASH"), "config.yaml").warnings()).isEmpty();
  }

  @Test
  void rejectsAnLbPolicyKeelsonDoesNotRun() {
    assertThat(rejected(edit("lb_policy: ROUND_ROBIN", "lb_policy: LOAD_BALANCING_POLICY_CONFIG")).getMessage()).isEqualTo(
        "config.yaml: static_resources.clusters[0].lb_policy: LOAD_BALANCING_POLICY_CONFIG is not supported; "
            + "expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, MAGLEV, RING_HASH, CLUSTER_PROVIDED");
  }

  @Test
  void rejectsClusterProvidedOnAClusterThatIsNotOriginalDst() {
    assertThat(rejected(edit("lb_policy: ROUND_ROBIN", "lb_policy: CLUSTER_PROVIDED")).getMessage()).isEqualTo(
        "config.yaml: static_resources.clusters[0].lb_policy: CLUSTER_PROVIDED is for clusters that pick the host"
            + " themselves; expected type ORIGINAL_DST with it (Envoy rejects it on a STATIC cluster too)");
  }

  @Test
  void rejectsAnHttpFilterOtherThanTheRouter() {
    String yaml = edit("          http_filters:\n", """
                  http_filters:
                  - name: envoy.filters.http.lua
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + HCM + ".http_filters[0].typed_config: http filter type envoy.extensions.filters.http.lua.v3.Lua "
            + "is not supported; expected envoy.filters.http.router (envoy.extensions.filters.http.router.v3.Router) or one of "
            + "envoy.extensions.filters.http.cors.v3.Cors, envoy.extensions.filters.http.fault.v3.HTTPFault, "
            + "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, "
            + "envoy.extensions.filters.http.rbac.v3.RBAC, envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication, "
            + "envoy.extensions.filters.http.grpc_web.v3.GrpcWeb, "
            + "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder, "
            + "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz, envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor, "
            + "envoy.extensions.filters.http.ratelimit.v3.RateLimit, "
            + "xds.type.v3.TypedStruct (istio.stats: type_url type.googleapis.com/stats.PluginConfig), "
            + "envoy.extensions.filters.http.health_check.v3.HealthCheck, envoy.extensions.filters.http.buffer.v3.Buffer, "
            + "envoy.extensions.filters.http.compressor.v3.Compressor, "
            + "envoy.extensions.filters.http.decompressor.v3.Decompressor, "
            + "envoy.extensions.filters.http.stateful_session.v3.StatefulSession, "
            + "envoy.extensions.filters.http.csrf.v3.CsrfPolicy, envoy.extensions.filters.http.basic_auth.v3.BasicAuth, "
            + "envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit, "
            + "or is_optional: true to skip it");
  }

  /** A buffer filter after a request-direction (de)compressor would count the bodies before coding, not after as Envoy. */
  @Test
  void rejectsABufferFilterAfterARequestDirectionCodingFilter() {
    String decompressor = """
                  - name: envoy.filters.http.decompressor
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor
                      decompressor_library:
                        name: basic
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip
        """;
    String buffer = """
                  - name: envoy.filters.http.buffer
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer
                      max_request_bytes: 65536
        """;
    assertThat(rejected(edit("          http_filters:\n", "          http_filters:\n" + decompressor + buffer)).getMessage())
        .startsWith("config.yaml: " + HCM + ".http_filters[1]: a buffer filter after the request-direction coding filter at "
            + HCM + ".http_filters[0] is not supported");
    // buffering first counts the coded bytes, as Envoy does in that order; a response-only decompressor codes no request
    assertThatCode(() -> BootstrapLoader.fromYaml(edit("          http_filters:\n", "          http_filters:\n" + buffer
        + decompressor), "config.yaml")).doesNotThrowAnyException();
    String responseOnly = decompressor + "              request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: k } } }\n";
    assertThatCode(() -> BootstrapLoader.fromYaml(edit("          http_filters:\n", "          http_filters:\n" + responseOnly
        + buffer), "config.yaml")).doesNotThrowAnyException();
  }

  /** A connection manager whose jwt_authn, which clears the route cache, comes after {@code check}. */
  private static String jwtAuthnAfter(String check) {
    return edit("          http_filters:\n", "          http_filters:\n" + check.indent(10) + """
                  - name: envoy.filters.http.jwt_authn
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
                      providers:
                        idp:
                          issuer: https://idp.example
                          local_jwks: { inline_string: '{"keys":[]}' }
                          claim_to_headers: [ { header_name: x-tenant, claim_name: tenant } ]
                          clear_route_cache: true
        """);
  }

  @Test
  void rejectsAJwtAuthnThatClearsTheRouteCacheAfterAnExternalCheck() {
    String yaml = jwtAuthnAfter("""
        - name: envoy.filters.http.ratelimit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
            domain: edge
            rate_limit_service:
              transport_api_version: V3
              grpc_service: { envoy_grpc: { cluster_name: rls } }
        """);
    assertThat(rejected(yaml).getMessage()).contains(
        "config.yaml: " + HCM + ".http_filters[1].typed_config.providers[\"idp\"].clear_route_cache: jwt_authn "
            + "'envoy.filters.http.jwt_authn' clears the route cache after 'envoy.filters.http.ratelimit' (an external "
            + "check), when the route can no longer be chosen again; expected jwt_authn before ext_authz, ext_proc and "
            + "ratelimit in http_filters, or clear_route_cache: false");
    assertThat(rejected(jwtAuthnAfter("""
        - name: envoy.filters.http.ext_proc
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
            grpc_service: { envoy_grpc: { cluster_name: rls } }
            processing_mode: { response_header_mode: SKIP }
        """)).getMessage()).contains("http_filters[1].typed_config.providers[\"idp\"].clear_route_cache")
        .contains("clears the route cache after 'envoy.filters.http.ext_proc'");
  }

  @Test
  void rejectsARouterThatIsNotTheLastFilter() {
    String yaml = edit(BASE, "              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n",
        "              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"
            + "          - name: envoy.filters.http.router\n");
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + HCM + ".http_filters[0]: the router must be the last http filter");
  }

  @Test
  void rejectsUnsupportedRetryPolicyFieldsAndConditionsByTheirFullPath() {
    String yaml = edit("                  cluster: backend\n",
        "                  cluster: backend\n                  retry_policy: { retry_on: \"5xx,bogus\", per_try_idle_timeout: 1s }\n");
    assertThat(rejected(yaml).problems()).satisfiesExactlyInAnyOrder(
        p -> assertThat(p).startsWith("config.yaml: " + ROUTES + "[1].route.retry_policy.per_try_idle_timeout: not supported by Keelson"),
        p -> assertThat(p).startsWith("config.yaml: " + ROUTES + "[1].route.retry_policy.retry_on: 'bogus' is not supported"));
  }

  @Test
  void rejectsARouteActionKindKeelsonDoesNotRun() {
    String yaml = edit("                route: { cluster: backend }\n", "                non_forwarding_action: {}\n");
    assertThat(rejected(yaml).problems()).containsExactly(
        "config.yaml: " + ROUTES + "[0].non_forwarding_action: not supported by Keelson; supported fields of Route: "
            + "name, match, route, redirect, direct_response, request_headers_to_add, request_headers_to_remove, "
            + "response_headers_to_add, response_headers_to_remove, per_request_buffer_limit_bytes, typed_per_filter_config",
        "config.yaml: " + ROUTES + "[0]: the route has no action; expected one of route, redirect, direct_response");
  }

  @Test
  void rejectsAnOriginalDstClusterWithEndpointsOrAnotherLbPolicy() {
    String yaml = edit("    lb_policy: ROUND_ROBIN\n", "    lb_policy: ROUND_ROBIN\n    type: ORIGINAL_DST\n");
    assertThat(rejected(yaml).problems()).containsExactlyInAnyOrder(
        "config.yaml: static_resources.clusters[0].lb_policy: ROUND_ROBIN is not valid on an ORIGINAL_DST cluster;"
            + " expected CLUSTER_PROVIDED (Envoy rejects any other lb_policy there)",
        "config.yaml: static_resources.clusters[0].load_assignment: an ORIGINAL_DST cluster has no endpoints (each"
            + " connection goes to its original destination); remove load_assignment.endpoints (Envoy rejects them too)");
  }

  @Test
  void rejectsATlsListenerWithoutACertificate() {
    String yaml = edit("    - filters:\n", """
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              filters:
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context"
            + ".tls_certificates: listener 'main': has 0 certificates; expected exactly one");
  }

  @Test
  void rejectsARouteToAClusterThatDoesNotExist() {
    String yaml = edit("                route: { cluster: backend }", "                route: { cluster: backnd }");
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + ROUTES + "[0].route.cluster: route 'first' names cluster 'backnd', which is not defined; "
            + "expected one of [backend]");
  }

  @Test
  void rejectsAMirrorToAMissingClusterAndAnUnknownFractionDenominator() {
    String yaml = edit("                route: { cluster: backend }", "                route: { cluster: backend, "
        + "request_mirror_policies: [ { cluster: shadw }, { cluster: backend, runtime_fraction: { default_value: "
        + "{ numerator: 5, denominator: 7 } } } ] }");
    assertThat(rejected(yaml).getMessage()).contains(
        ROUTES + "[0].route.request_mirror_policies[0].cluster: route 'first' names cluster 'shadw', which is not defined",
        ROUTES + "[0].route.request_mirror_policies[1].runtime_fraction.default_value.denominator");
  }

  @Test
  void acceptsAMirrorPolicyWithAFraction() throws Exception {
    String yaml = edit("                route: { cluster: backend }", "                route: { cluster: backend, "
        + "request_mirror_policies: [ { cluster: backend, runtime_fraction: { default_value: "
        + "{ numerator: 25, denominator: TEN_THOUSAND } } } ] }");
    var snapshot = BootstrapLoader.fromYaml(yaml, "config.yaml");
    var forward = (io.keelson.dataplane.config.RouteAction.Forward) snapshot.listeners().getFirst().http().routeConfig()
        .virtualHosts().getFirst().routes().getFirst().action();
    assertThat(forward.mirrors()).containsExactly(new io.keelson.dataplane.config.MirrorPolicy("backend", 2500));
  }

  @Test
  void rejectsDuplicateListenerAndClusterNames() {
    String listener = BASE.substring(BASE.indexOf("  - name: main"), BASE.indexOf("  clusters:"));
    String cluster = BASE.substring(BASE.indexOf("  - name: backend"));
    String yaml = edit(BASE, "  clusters:\n", listener.replace("port_value: 10000", "port_value: 10001") + "  clusters:\n") + cluster;
    assertThat(rejected(yaml).problems()).containsExactly(
        "config.yaml: static_resources.listeners[1].name: listener name 'main' is already used by "
            + "static_resources.listeners[0]; expected unique names",
        "config.yaml: static_resources.clusters[1].name: cluster name 'backend' is already used by "
            + "static_resources.clusters[0]; expected unique names");
  }

  @Test
  void rejectsPortsOutOfRange() {
    assertThat(rejected(edit("port_value: 10000", "port_value: 70000")).getMessage()).isEqualTo(
        "config.yaml: static_resources.listeners[0].address.socket_address.port_value: 70000 is out of range; expected 0-65535");
    assertThat(rejected(edit("port_value: 8080", "port_value: 0")).getMessage()).isEqualTo(
        "config.yaml: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address"
            + ".socket_address.port_value: 0 is out of range; expected 1-65535");
  }

  @Test
  void rejectsWeightedClustersWithZeroTotalWeight() {
    String yaml = edit("                route:\n                  cluster: backend\n", """
                        route:
                          weighted_clusters:
                            clusters:
                            - { name: backend, weight: 0 }
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + ROUTES + "[1].route.weighted_clusters: the total weight of route 'second' is 0; "
            + "expected at least one cluster with a weight above 0");
  }

  @Test
  void rejectsTotalWeightThatDisagreesWithTheClusters() {
    String yaml = edit("                route:\n                  cluster: backend\n", """
                        route:
                          weighted_clusters:
                            total_weight: 100
                            clusters:
                            - { name: backend, weight: 60 }
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + ROUTES + "[1].route.weighted_clusters.total_weight: is 100 but the cluster weights add up to 60; "
            + "expected them to be equal (or total_weight left out)");
  }

  @Test
  void yamlSyntaxErrorsSayLineAndColumn() {
    String yaml = edit("      socket_address: { address: 127.0.0.1, port_value: 10000 }",
        "      socket_address: { address: 127.0.0.1, port_value: 10000");
    assertThat(rejected(yaml).getMessage()).startsWith("config.yaml:6:").contains("invalid YAML");
  }

  @Test
  void jsonSyntaxErrorsSayLineAndColumn() {
    assertThat(rejected("{\n  \"static_resources\": {,}\n}").getMessage()).startsWith("config.yaml:2:24: invalid JSON: ");
  }

  @Test
  void duplicateKeysAreAnError() {
    String yaml = edit("    lb_policy: ROUND_ROBIN\n", "    lb_policy: ROUND_ROBIN\n    lb_policy: RANDOM\n");
    // The YAML parser reports the position it had reached, which may be the line before the duplicate.
    assertThat(rejected(yaml).getMessage()).matches("config.yaml:3[12]:\\d+: invalid YAML: Duplicate field 'lb_policy'");
  }

  @Test
  void misspelledFieldsAreNamed() {
    assertThat(rejected(edit("lb_policy: ROUND_ROBIN", "lb_polcy: ROUND_ROBIN")).getMessage()).isEqualTo(
        "config.yaml: not a valid Envoy v3 bootstrap: Cannot find field: lb_polcy in message envoy.config.cluster.v3.Cluster");
  }

  @Test
  void rejectsRegexConstructsRe2DoesNotHave() {
    String yaml = edit("match: { prefix: /first }", "match: { safe_regex: { regex: \"/(?!admin).*\" } }");
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + ROUTES + "[0].match.safe_regex.regex: regex '/(?!admin).*' uses lookahead, which RE2 "
            + "(Envoy's regex engine) does not accept; expected RE2 syntax");
  }

  @Test
  void acceptsARegexRewrite() throws Exception {
    String yaml = edit("                route: { cluster: backend }\n", """
                        route:
                          cluster: backend
                          regex_rewrite: { pattern: { regex: "^/v1/(.*)$" }, substitution: '/\\1' }
        """);
    assertThat(BootstrapLoader.fromYaml(yaml, "config.yaml").warnings()).isEmpty();
  }

  @Test
  void rejectsRegexRewriteTogetherWithPrefixRewriteByPath() {
    String yaml = edit("                route: { cluster: backend }\n", """
                        route:
                          cluster: backend
                          prefix_rewrite: /x/
                          regex_rewrite: { pattern: { regex: "^/first" }, substitution: /x }
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo("config.yaml: " + ROUTES + "[0].route.regex_rewrite: is set together "
        + "with prefix_rewrite; expected only one of prefix_rewrite and regex_rewrite (as Envoy)");
  }

  @Test
  void rejectsARegexRewritePatternRe2DoesNotAcceptOrThatIsInvalidByPath() {
    String lookahead = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend, regex_rewrite: { pattern: { regex: "/(?!admin)(.*)" }, substitution: '/\\1' } }
        """);
    assertThat(rejected(lookahead).getMessage()).isEqualTo("config.yaml: " + ROUTES + "[0].route.regex_rewrite.pattern.regex: "
        + "regex '/(?!admin)(.*)' uses lookahead, which RE2 (Envoy's regex engine) does not accept; expected RE2 syntax");
    String invalid = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend, regex_rewrite: { pattern: { regex: "/items/[0-9" }, substitution: /x } }
        """);
    assertThat(rejected(invalid).getMessage())
        .startsWith("config.yaml: " + ROUTES + "[0].route.regex_rewrite.pattern.regex: regex '/items/[0-9' is invalid: ");
    String missing = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend, regex_rewrite: { substitution: /x } }
        """);
    assertThat(rejected(missing).getMessage())
        .isEqualTo("config.yaml: " + ROUTES + "[0].route.regex_rewrite.pattern.regex: a pattern is required");
  }

  @Test
  void rejectsARegexRewriteSubstitutionRe2CannotApplyByPath() {
    String noGroup = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend, regex_rewrite: { pattern: { regex: "^/v1/(.*)$" }, substitution: '/\\2' } }
        """);
    assertThat(rejected(noGroup).getMessage()).isEqualTo("config.yaml: " + ROUTES + "[0].route.regex_rewrite.substitution: "
        + "'/\\2' \\2 refers to capture group 2 but the pattern has 1 group (RE2 would leave the path unchanged)");
    String badEscape = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend, regex_rewrite: { pattern: { regex: "^/v1" }, substitution: '/\\x' } }
        """);
    assertThat(rejected(badEscape).getMessage()).contains(ROUTES + "[0].route.regex_rewrite.substitution: '/\\x' '\\x' is not "
        + "a valid escape");
    String query = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend, regex_rewrite: { pattern: { regex: "^/v1" }, substitution: '/v2?a=b' } }
        """);
    assertThat(rejected(query).getMessage()).contains(ROUTES + "[0].route.regex_rewrite.substitution: '/v2?a=b' holds '?'");
  }

  @Test
  void rejectsInvalidRegex() {
    String yaml = edit("match: { prefix: /first }", "match: { safe_regex: { regex: \"/items/[0-9\" } }");
    assertThat(rejected(yaml).getMessage()).startsWith(
        "config.yaml: " + ROUTES + "[0].match.safe_regex.regex: regex '/items/[0-9' is invalid: ");
  }

  @Test
  void rejectsHeaderAppendActionsKeelsonCannotExpress() {
    String yaml = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend }
                        request_headers_to_add:
                        - header: { key: x-a, value: b }
                          append_action: ADD_IF_ABSENT
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + ROUTES + "[0].request_headers_to_add[0].append_action: ADD_IF_ABSENT is not supported; "
            + "expected one of APPEND_IF_EXISTS_OR_ADD, OVERWRITE_IF_EXISTS_OR_ADD");
  }

  @Test
  void rejectsRouteHeadersThatWouldSplitTheHead() {
    String yaml = edit("                route: { cluster: backend }\n", """
                        route: { cluster: backend }
                        response_headers_to_add:
                        - header: { key: x-a, value: "b\\r\\nx-evil: 1" }
                        - header: { key: "x(b)", value: c }
        """);
    assertThat(rejected(yaml).problems()).containsExactly(
        "config.yaml: " + ROUTES + "[0].response_headers_to_add[0].header.value: holds CR, LF or NUL; expected a header value on one line",
        "config.yaml: " + ROUTES + "[0].response_headers_to_add[1].header.key: 'x(b)' is not a header name; "
            + "expected token characters only (letters, digits, !#$%&'*+-.^_`|~)");
  }

  @Test
  void rejectsHostNamesInStaticClusters() {
    assertThat(rejected(edit("address: 127.0.0.1, port_value: 8080", "address: backend.local, port_value: 8080")).getMessage())
        .isEqualTo("config.yaml: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address"
            + ".socket_address.address: 'backend.local' is not an IP address; a STATIC cluster needs IP addresses "
            + "(use STRICT_DNS or LOGICAL_DNS for host names)");
  }

  @Test
  void rejectsADomainUsedByTwoVirtualHosts() {
    String yaml = edit("          http_filters:\n", """
                    - name: again
                      domains: ["*"]
                      routes: []
                  http_filters:
        """);
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + HCM + ".route_config.virtual_hosts[1].domains[0]: domain '*' is already used by virtual host 'all'; "
            + "each domain may appear in one virtual host only");
  }

  @Test
  void rejectsUnknownPseudoHeaders() {
    String yaml = edit("match: { prefix: /first }",
        "match: { prefix: /first, headers: [{ name: \":protocol\", string_match: { exact: websocket } }] }");
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: " + ROUTES + "[0].match.headers[0].name: pseudo-header ':protocol' is not supported; "
            + "expected a header name or one of :method, :authority, :path, :scheme");
  }

  @Test
  void rejectsIncompleteDynamicResourcesByField() {
    assertThat(rejected("dynamic_resources: { ads_config: { api_type: REST } }\n" + BASE).problems()).containsExactly(
        "config.yaml: dynamic_resources.ads_config.api_type: REST is not supported; expected GRPC or DELTA_GRPC",
        "config.yaml: dynamic_resources.ads_config.transport_api_version: AUTO is not supported; expected V3",
        "config.yaml: dynamic_resources.lds_config: expected { ads: {} } (Keelson takes listeners and clusters over ADS only)",
        "config.yaml: dynamic_resources.cds_config: expected { ads: {} } (Keelson takes listeners and clusters over ADS only)",
        "config.yaml: dynamic_resources.ads_config.grpc_services: expected exactly one grpc service: { envoy_grpc: { cluster_name: ... } }");
  }

  @Test
  void reportsEveryProblemAtOnce() {
    String yaml = edit(edit("lb_policy: ROUND_ROBIN", "lb_policy: CLUSTER_PROVIDED"),
        "                route: { cluster: backend }", "                route: { cluster: nowhere, retry_policy: { retry_on: bogus } }");
    assertThat(rejected(yaml).problems()).hasSize(3);
  }

  @Test
  void checksTcpProxyListenersLikeHttpOnes() {
    String yaml = edit(BASE.substring(BASE.indexOf("      - name: envoy.filters.network.http_connection_manager"), BASE.indexOf("  clusters:")), """
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: tcp
                  cluster: elsewhere
                  max_connect_attempts: 2
        """);
    assertThat(rejected(yaml).problems()).containsExactly(
        "config.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.max_connect_attempts: not"
            + " supported by Keelson; supported fields of TcpProxy: stat_prefix, cluster, weighted_clusters, idle_timeout,"
            + " access_log, access_log_options, tunneling_config, hash_policy",
        "config.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: tcp_proxy 'tcp' "
            + "names cluster 'elsewhere', which is not defined; expected one of [backend]");
  }

  @Test
  void rejectsTunnelingHeadersThatAreNotAHeaderNameOrSpanLines() {
    String yaml = edit(BASE.substring(BASE.indexOf("      - name: envoy.filters.network.http_connection_manager"), BASE.indexOf("  clusters:")), """
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: tcp
                  cluster: backend
                  tunneling_config:
                    hostname: host.example:443
                    headers_to_add:
                    - header: { key: "x y", value: v }
                    - header: { key: x-ok, value: "a\\r\\nx-evil: 1" }
                    - header: { key: x-fine, value: "%DOWNSTREAM_REMOTE_ADDRESS%" }
        """);
    String at = "config.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tunneling_config.headers_to_add";
    assertThat(rejected(yaml).problems()).contains(
        at + "[0].header.key: 'x y' is not a header name; expected token characters only (letters, digits, !#$%&'*+-.^_`|~)",
        at + "[1].header.value: holds CR, LF or NUL; expected a header value on one line")
        .noneMatch(p -> p.contains("headers_to_add[2]"));
  }

  @Test
  void reportsTcpProxyAccessLogProblemsByPath() {
    String yaml = edit(BASE.substring(BASE.indexOf("      - name: envoy.filters.network.http_connection_manager"), BASE.indexOf("  clusters:")), """
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: tcp
                  cluster: backend
                  access_log:
                  - name: envoy.access_loggers.open_telemetry
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig
                  - name: envoy.access_loggers.file
                    filter: { duration_filter: { comparison: { op: GE, value: { default_value: 1, runtime_key: k } } } }
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: /tmp/x.log
                      log_format: { text_format_source: { inline_string: "%BYTES_SENT% %UPSTREAM_PEER_SUBJECT%" } }
        """);
    String at = "config.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.access_log";
    assertThat(rejected(yaml).problems()).anySatisfy(p -> assertThat(p).startsWith(at + "[0].typed_config: "))
        .anySatisfy(p -> assertThat(p).startsWith(at + "[1].filter.duration_filter.comparison.value.runtime_key: not supported"))
        .anySatisfy(p -> assertThat(p).startsWith(at + "[1].typed_config.log_format: operator %UPSTREAM_PEER_SUBJECT% is not"));
  }

  @Test
  void rejectsANetworkFilterKeelsonDoesNotRun() {
    String yaml = edit("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy");
    assertThat(rejected(yaml).getMessage()).isEqualTo(
        "config.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config: type "
            + "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy is not supported; expected one of "
            + SupportedTypes.NAMES);
  }
}
