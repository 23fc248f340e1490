package io.keelson.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.filter.extauthz.ExtAuthzFilterFactory;
import io.keelson.dataplane.filter.ConfigErrors;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy action CUSTOM: parsing, the mesh config's extension providers, and the shadow RBAC + ext_authz
 * filters istiod writes for them (checked by the data plane's own filter factory).
 */
class ExtAuthzTranslationTest {
  private static final Map<String, String> PRODUCT = Map.of("app", "product");
  static final String MESH = """
      extensionProviders:
      - name: authz-http
        envoyExtAuthzHttp:
          service: 127.0.0.1
          port: 9000
          timeout: 0.5s
          pathPrefix: /check
          statusOnError: "503"
          includeRequestHeadersInCheck: [ x-allow ]
          includeAdditionalHeadersInCheck: { x-from-mesh: keelson }
          headersToUpstreamOnAllow: [ x-user ]
          headersToDownstreamOnDeny: [ x-deny-reason ]
      - name: authz-grpc
        envoyExtAuthzGrpc: { service: authz.example, port: 9001, failOpen: true }
      """;

  private static List<Policy.AuthorizationPolicy> parse(String yaml) throws PolicyException {
    return PolicyParser.parse("authz.yaml", yaml).policies().stream().map(p -> (Policy.AuthorizationPolicy) p).toList();
  }

  private static String custom(String name, String provider) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: %s, namespace: shop }
        spec:
          selector: { matchLabels: { app: product } }
          action: CUSTOM
          provider: { name: %s }
          rules: [ { to: [ { operation: { paths: [ "/admin/*" ] } } ] } ]
        ---
        """.formatted(name, provider);
  }

  @Test
  void customNeedsAProviderAndOnlyCustomTakesOne() {
    assertThatThrownBy(() -> parse("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: p, namespace: shop }
        spec: { action: CUSTOM, rules: [ {} ] }
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: q, namespace: shop }
        spec: { action: DENY, provider: { name: authz-http }, rules: [ {} ] }
        """)).isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.getMessage())
        .contains("spec.provider: action CUSTOM needs provider.name")
        .contains("spec.provider: provider is only for action CUSTOM; this policy's action is DENY"));
  }

  @Test
  void customPoliciesAreNeverAllowRules() throws Exception {
    // The old translation made every non-DENY policy an ALLOW one: a CUSTOM policy denied every other path.
    WorkloadAuthorization w = AuthorizationTranslator.http("shop", PRODUCT, parse(custom("ext", "authz-http")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    assertThat(w.isEmpty()).isTrue();
  }

  @Test
  void meshConfigProvidersAreReadWithEveryField() {
    ExtensionProviders p = ExtensionProviders.parse("mesh.yaml", MESH);
    ExtAuthzProvider http = p.get("authz-http");
    assertThat(http.grpc()).isFalse();
    assertThat(http.timeoutMillis()).isEqualTo(500);
    assertThat(http.statusOnError()).isEqualTo(503);
    assertThat(http.additionalHeaders()).containsEntry("x-from-mesh", "keelson");
    assertThat(p.get("authz-grpc").grpc()).isTrue();
    assertThat(p.get("authz-grpc").failOpen()).isTrue();
    assertThat(p.get("authz-grpc").timeoutMillis()).isEqualTo(600_000);
  }

  @Test
  void badMeshConfigNamesTheFileAndField() {
    assertThatThrownBy(() -> ExtensionProviders.parse("mesh.yaml", """
        enableTracing: true
        extensionProviders:
        - name: a
          envoyExtAuthzHttp: { service: "", port: 70000, timeout: soon, statusOnError: nope, headersToDownstreamOnAllow: [ x ] }
        - name: b
          opentelemetry: { service: otel, port: 4317 }
        - name: c
          envoyExtAuthzGrpc: { service: foo/authz.foo.svc.cluster.local, port: 1, pathPrefix: /p }
        - name: d
          envoyExtAuthzGrpc: { service: x, port: 1 }
        - name: d
          envoyExtAuthzGrpc: { service: y, port: 2 }
        """)).isInstanceOf(IllegalArgumentException.class).message()
        .contains("mesh.yaml: enableTracing: not supported in --mesh-config")
        .contains("mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.service: required")
        .contains("mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.port: expected a port 1-65535, got 70000")
        .contains("extensionProviders[0].envoyExtAuthzHttp.timeout: 'soon' is not a positive duration")
        .contains("extensionProviders[0].envoyExtAuthzHttp.statusOnError: 'nope' is not an HTTP status")
        .contains("extensionProviders[0].envoyExtAuthzHttp.headersToDownstreamOnAllow: not supported")
        .contains("extensionProviders[1].opentelemetry: not supported")
        .contains("extensionProviders[2].envoyExtAuthzGrpc.pathPrefix: not supported")
        .contains("extensionProviders[2].envoyExtAuthzGrpc.service: 'foo/authz.foo.svc.cluster.local' is not supported")
        .contains("extensionProviders[4].name: 'd' is used twice");
  }

  @Test
  void unknownProviderIsRefusedWithTheFieldPathAndTheKnownNames() throws Exception {
    ExtensionProviders p = ExtensionProviders.parse("mesh.yaml", MESH);
    List<Policy> policies = List.copyOf(parse(custom("ext", "opa")));
    assertThatThrownBy(() -> p.check(policies)).isInstanceOf(PolicyException.class).message()
        .contains("shop/ext").contains("spec.provider.name")
        .contains("extension provider 'opa' is not defined; expected one of [authz-http, authz-grpc]");
    assertThatThrownBy(() -> ExtensionProviders.NONE.check(policies)).message()
        .contains("the control plane has none (start it with --mesh-config FILE");
    p.check(List.copyOf(parse(custom("ext", "authz-grpc"))));
  }

  @Test
  void customPoliciesBecomeAShadowRbacAndAnExtAuthzEnabledByItsResult() throws Exception {
    ExtensionProviders p = ExtensionProviders.parse("mesh.yaml", MESH);
    var c = ExtAuthzTranslator.http("shop", PRODUCT, parse(custom("ext", "authz-http")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p);
    assertThat(c.provider().name()).isEqualTo("authz-http");
    assertThat(c.filters()).hasSize(2);
    var shadow = c.filters().get(0).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class);
    assertThat(shadow.hasRules()).isFalse();
    assertThat(shadow.getShadowRulesStatPrefix()).isEqualTo("istio_ext_authz_");
    assertThat(shadow.getShadowRules().getPoliciesMap()).containsOnlyKeys("istio-ext-authz-ns[shop]-policy[ext]-rule[0]");
    ExtAuthz ext = c.filters().get(1).getTypedConfig().unpack(ExtAuthz.class);
    assertThat(ext.getFilterEnabledMetadata().getFilter()).isEqualTo("envoy.filters.http.rbac");
    assertThat(ext.getFilterEnabledMetadata().getPath(0).getKey()).isEqualTo("istio_ext_authz_shadow_effective_policy_id");
    assertThat(ext.getFilterEnabledMetadata().getValue().getStringMatch().getPrefix()).isEqualTo("istio-ext-authz");
    assertThat(ext.getHttpService().getServerUri().getCluster()).isEqualTo("ext-authz|authz-http");
    assertThat(ext.getHttpService().getPathPrefix()).isEqualTo("/check");
    assertThat(ext.getStatusOnError().getCodeValue()).isEqualTo(503);
    // the data plane accepts both filters as written
    for (var f : List.of(ext, p.get("authz-grpc").filter())) {
      List<String> errors = new java.util.ArrayList<>();
      ConfigErrors collect = new ConfigErrors() {
        @Override
        public void error(String path, String message) {
          errors.add(path + ": " + message);
        }

        @Override
        public void warn(String path, String message) {}
      };
      assertThat(new ExtAuthzFilterFactory().translate(f, "ext_authz", collect)).isNotNull();
      assertThat(errors).isEmpty();
    }
    io.keelson.dataplane.rbac.HttpRbacConfig.from(c.filters().get(0).getTypedConfig());
  }

  @Test
  void istioHeaderPatternsBecomePrefixSuffixAndMatchAllMatchersTheDataPlaneAccepts() throws Exception {
    ExtensionProviders p = ExtensionProviders.parse("mesh.yaml", """
        extensionProviders:
        - name: patterns
          envoyExtAuthzHttp:
            service: 127.0.0.1
            port: 9000
            includeRequestHeadersInCheck: [ x-allow, "X-Tenant-*", "*-token" ]
            headersToUpstreamOnAllow: [ "*" ]
            headersToDownstreamOnDeny: [ "x-deny-*" ]
        """);
    ExtAuthz ext = p.get("patterns").filter();
    var inCheck = ext.getAllowedHeaders().getPatternsList();
    assertThat(inCheck).hasSize(3);
    assertThat(inCheck.get(0).getExact()).isEqualTo("x-allow");
    assertThat(inCheck.get(1).getPrefix()).isEqualTo("x-tenant-");
    assertThat(inCheck.get(2).getSuffix()).isEqualTo("-token");
    assertThat(inCheck).allSatisfy(m -> assertThat(m.getIgnoreCase()).isTrue());
    var response = ext.getHttpService().getAuthorizationResponse();
    assertThat(response.getAllowedClientHeaders().getPatterns(0).getPrefix()).isEqualTo("x-deny-");

    // What the data plane makes of them: the header names each one lets through.
    List<String> errors = new java.util.ArrayList<>();
    ConfigErrors collect = new ConfigErrors() {
      @Override
      public void error(String path, String message) {
        errors.add(path + ": " + message);
      }

      @Override
      public void warn(String path, String message) {}
    };
    assertThat(new ExtAuthzFilterFactory().translate(ext, "ext_authz", collect)).isNotNull();
    assertThat(errors).isEmpty();
    java.util.function.BiPredicate<io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher, String> passes =
        (list, name) -> list.getPatternsList().stream().anyMatch(m -> io.keelson.dataplane.config.envoy.MatchTranslator
            .stringMatcher(m, "m", collect).matches(name));
    assertThat(passes.test(ext.getAllowedHeaders(), "x-tenant-id")).isTrue();
    assertThat(passes.test(ext.getAllowedHeaders(), "x-session-token")).isTrue();
    assertThat(passes.test(ext.getAllowedHeaders(), "x-allow")).isTrue();
    assertThat(passes.test(ext.getAllowedHeaders(), "x-tenant")).as("the prefix needs its dash").isFalse();
    assertThat(passes.test(ext.getAllowedHeaders(), "cookie")).isFalse();
    assertThat(passes.test(response.getAllowedUpstreamHeaders(), "x-anything")).as("* lets every header through")
        .isTrue();
    assertThat(passes.test(response.getAllowedClientHeaders(), "x-deny-reason")).isTrue();
    assertThat(passes.test(response.getAllowedClientHeaders(), "set-cookie")).isFalse();
    assertThat(errors).isEmpty();
  }

  @Test
  void anUndefinedProviderOrTwoProvidersOnOneWorkloadDenyEverything() throws Exception {
    ExtensionProviders p = ExtensionProviders.parse("mesh.yaml", MESH);
    for (String yaml : List.of(custom("ext", "opa"), custom("a", "authz-http") + custom("b", "authz-grpc"))) {
      var c = ExtAuthzTranslator.http("shop", PRODUCT, parse(yaml), AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p);
      assertThat(c.provider()).isNull();
      RBAC rules = c.filters().getFirst().getTypedConfig()
          .unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules();
      assertThat(rules.getAction()).isEqualTo(RBAC.Action.DENY);
      assertThat(rules.getPoliciesMap()).containsOnlyKeys("default-deny-all-due-to-bad-CUSTOM-action");
    }
    assertThat(ExtAuthzTranslator.http("shop", Map.of("app", "web"), parse(custom("ext", "authz-http")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p).filters()).isEmpty();
    assertThat(parse(custom("ext", "authz-http")).getFirst().action()).isEqualTo(Authz.Action.CUSTOM);
    assertThat(PolicyParser.parse("authz.yaml", custom("ext", "authz-http")).warnings()).extracting(Object::toString)
        .anyMatch(w -> w.contains("spec.action: CUSTOM is enforced on the inbound traffic of selected sidecars with an"
            + " identity (HTTP apps, and TCP apps with an envoyExtAuthzGrpc provider") && w.contains("TLS/TCP servers with an envoyExtAuthzGrpc provider")
            && w.contains("sidecars without an identity"));
  }

  @Test
  void aTcpWorkloadGetsIstiodsShadowNetworkRbacAndNetworkExtAuthzForAGrpcProviderOnly() throws Exception {
    ExtensionProviders p = ExtensionProviders.parse("mesh.yaml", MESH);
    var c = ExtAuthzTranslator.tcp("shop", PRODUCT, parse(custom("ext", "authz-grpc")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p);
    assertThat(c.provider().name()).isEqualTo("authz-grpc");
    assertThat(c.filters()).isEmpty();
    assertThat(c.networkFilters()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.network.rbac", "envoy.filters.network.ext_authz");
    var shadow = c.networkFilters().get(0).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
    assertThat(shadow.hasRules()).isFalse();
    assertThat(shadow.getStatPrefix()).isEqualTo("tcp.");
    assertThat(shadow.getShadowRulesStatPrefix()).isEqualTo("istio_ext_authz_");
    assertThat(shadow.getShadowRules().getPoliciesMap()).isNotEmpty()
        .allSatisfy((name, policy) -> assertThat(name).startsWith("istio-ext-authz-ns[shop]-policy[ext]-rule["));
    var ext = c.networkFilters().get(1).getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.class);
    assertThat(ext.getStatPrefix()).isEqualTo("tcp.");
    assertThat(ext.getFailureModeAllow()).as("failOpen").isTrue();
    assertThat(ext.getGrpcService().getEnvoyGrpc().getClusterName()).isEqualTo("ext-authz|authz-grpc");
    assertThat(ext.getFilterEnabledMetadata().getFilter()).isEqualTo("envoy.filters.network.rbac");
    assertThat(ext.getFilterEnabledMetadata().getPath(0).getKey()).isEqualTo("istio_ext_authz_shadow_effective_policy_id");
    List<String> errors = new java.util.ArrayList<>();
    assertThat(io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig.from(ext, "ext_authz",
        new io.keelson.dataplane.filter.ConfigErrors() {
          @Override
          public void error(String path, String message) {
            errors.add(path + ": " + message);
          }

          @Override
          public void warn(String path, String message) {}
        })).as("the data plane accepts it: %s", errors).isNotNull();

    var http = ExtAuthzTranslator.tcp("shop", PRODUCT, parse(custom("ext", "authz-http")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p);
    assertThat(http.networkFilters()).isEmpty();
    assertThat(http.provider()).isNull();
    assertThat(http.ignoredProvider()).isEqualTo("authz-http");

    var undefined = ExtAuthzTranslator.tcp("shop", PRODUCT, parse(custom("ext", "opa")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p);
    assertThat(undefined.networkFilters()).singleElement().satisfies(f -> assertThat(f.getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class).getRules().getPoliciesMap())
        .containsOnlyKeys("default-deny-all-due-to-bad-CUSTOM-action"));
    assertThat(ExtAuthzTranslator.tcp("shop", Map.of("app", "web"), parse(custom("ext", "authz-grpc")),
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, p)).isEqualTo(ExtAuthzTranslator.Custom.NONE);
  }
}
