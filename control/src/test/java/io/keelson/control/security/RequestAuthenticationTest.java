package io.keelson.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.jwt.JwtAuthnFactory;
import io.keelson.dataplane.rbac.SimpleRequestView;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.testing.TestJwts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio RequestAuthentication + AuthorizationPolicy YAML → jwt_authn + RBAC → the data plane's filter
 * and engine: who gets through, as Istio documents it.
 */
class RequestAuthenticationTest {
  static final TestJwts KEYS = new TestJwts();
  static final String ISS = "https://idp.example";
  static final Map<String, String> PRODUCT = Map.of("app", "product");

  static String requestAuthentication(String ns, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: { name: jwt, namespace: %s }
        spec:
        %s
        ---
        """.formatted(ns, spec.indent(2));
  }

  static final String JWT = requestAuthentication("shop", """
      selector: { matchLabels: { app: product } }
      jwtRules:
      - issuer: %s
        audiences: [ product.shop ]
        jwks: '%s'
        outputPayloadToHeader: x-jwt-payload
      """.formatted(ISS, KEYS.jwks()));

  static final String REQUIRE_ALICE_OR_ADMINS = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: users, namespace: shop }
      spec:
        selector: { matchLabels: { app: product } }
        rules:
        - from: [ { source: { requestPrincipals: [ "https://idp.example/alice" ] } } ]
        - from: [ { source: { requestPrincipals: [ "*" ], notRequestPrincipals: [ "*/mallory" ] } } ]
          when: [ { key: "request.auth.claims[groups]", values: [ admin ] } ]
          to: [ { operation: { paths: [ "/admin/*" ] } } ]
      """;

  /** Runs the translated jwt_authn filter, then the translated RBAC on what it verified: the status. */
  static int decide(String yaml, String path, String token) throws Exception {
    List<Policy> all = PolicyParser.parse("policies.yaml", yaml).policies();
    JwtAuthentication jwt = RequestAuthenticationTranslator.config("shop", PRODUCT,
        all.stream().filter(Policy.RequestAuthentication.class::isInstance).map(Policy.RequestAuthentication.class::cast)
            .toList(), AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    FilterContext c = new FilterContext();
    c.clear();
    TestRequest head = TestRequest.request("GET", path, "product.shop");
    if (token != null) {
      head.header("authorization", "Bearer " + token);
    }
    c.head = head;
    if (jwt != null) {
      List<String> errors = new ArrayList<>();
      JwtAuthnFactory f = new JwtAuthnFactory();
      Object settings = f.translate(jwt, "jwt", new ConfigErrors() {
        @Override
        public void error(String p, String m) {
          errors.add(p + ": " + m);
        }

        @Override
        public void warn(String p, String m) {
        }
      });
      assertThat(errors).isEmpty();
      HttpFilter filter = f.create(settings, FilterResources.of(new StatsRegistry(), "inbound"));
      filter.onRequest(c);
      if (c.hasLocalReply()) {
        return c.status();
      }
    }
    WorkloadAuthorization w = AuthorizationTranslator.http("shop", PRODUCT,
        all.stream().filter(Policy.AuthorizationPolicy.class::isInstance).map(Policy.AuthorizationPolicy.class::cast)
            .toList(), AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    return AuthorizationPolicyTest.decide(w, SimpleRequestView.http("GET", path).metadata(c.metadata)).allowed() ? 200 : 403;
  }

  static String token(String sub, Object... extra) {
    return KEYS.rs256(TestJwts.claims(ISS, sub, "product.shop", extra));
  }

  @Test
  void aVerifiedRequestPrincipalIsAllowedAndAMissingTokenPassesAuthenticationButNotTheAllowPolicy() throws Exception {
    String yaml = JWT + REQUIRE_ALICE_OR_ADMINS;
    assertThat(decide(yaml, "/items", token("alice"))).isEqualTo(200);
    assertThat(decide(yaml, "/items", KEYS.es256(TestJwts.claims(ISS, "alice", "product.shop")))).isEqualTo(200);
    assertThat(decide(yaml, "/items", token("bob"))).as("another principal").isEqualTo(403);
    assertThat(decide(yaml, "/items", null)).as("no token: authenticated as nobody, denied by RBAC").isEqualTo(403);
    assertThat(decide(JWT, "/items", null)).as("RequestAuthentication alone lets a missing token through").isEqualTo(200);
    assertThat(decide(yaml, "/admin/x", token("bob", "groups", List.of("admin")))).as("claim condition").isEqualTo(200);
    assertThat(decide(yaml, "/admin/x", token("bob", "groups", "admin"))).as("a string claim").isEqualTo(200);
    assertThat(decide(yaml, "/admin/x", token("mallory", "groups", List.of("admin")))).as("notRequestPrincipals")
        .isEqualTo(403);
    assertThat(decide(yaml, "/admin/x", token("bob", "groups", List.of("dev")))).isEqualTo(403);
  }

  @Test
  void invalidTokensAreRefusedBeforeAuthorization() throws Exception {
    String yaml = JWT + REQUIRE_ALICE_OR_ADMINS;
    var expired = TestJwts.claims(ISS, "alice", "product.shop");
    expired.put("exp", System.currentTimeMillis() / 1000 - 3600);
    assertThat(decide(yaml, "/items", KEYS.rs256(expired))).isEqualTo(401);
    assertThat(decide(yaml, "/items", KEYS.rs256(TestJwts.claims("https://other.example", "alice", "product.shop"))))
        .isEqualTo(401);
    assertThat(decide(yaml, "/items", KEYS.rs256SignedBy(new TestJwts().rsa, TestJwts.claims(ISS, "alice", "product.shop"))))
        .isEqualTo(401);
    assertThat(decide(yaml, "/items", KEYS.rs256(TestJwts.claims(ISS, "alice", "other.shop")))).isEqualTo(403);
  }

  @Test
  void translationFollowsIstioOneProviderPerIssuerAnyOrNoTokenWithJwksUriFetchedByTheProxy() throws Exception {
    List<Policy> all = PolicyParser.parse("ra.yaml", JWT + requestAuthentication("istio-system", """
        jwtRules:
        - issuer: https://mesh.example
          jwksUri: https://mesh.example/keys.json
          fromHeaders: [ { name: X-Token, prefix: "Token " } ]
          fromParams: [ token ]
          forwardOriginalToken: true
        """).replace("name: jwt, namespace: istio-system", "name: mesh, namespace: istio-system")).policies();
    List<Policy.RequestAuthentication> ras = all.stream().map(Policy.RequestAuthentication.class::cast).toList();
    JwtAuthentication c = RequestAuthenticationTranslator.config("shop", PRODUCT, ras,
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    assertThat(c.getProvidersMap()).containsOnlyKeys("origins-0", "origins-1");
    var mesh = c.getProvidersMap().get("origins-0"); // istio-system sorts first
    assertThat(mesh.getIssuer()).isEqualTo("https://mesh.example");
    assertThat(mesh.getRemoteJwks().getHttpUri().getUri()).isEqualTo("https://mesh.example/keys.json");
    assertThat(mesh.getFromHeaders(0).getName()).isEqualTo("x-token");
    assertThat(mesh.getFromHeaders(0).getValuePrefix()).isEqualTo("Token ");
    assertThat(mesh.getFromParamsList()).containsExactly("token");
    assertThat(mesh.getForward()).isTrue();
    var shop = c.getProvidersMap().get("origins-1");
    assertThat(shop.getLocalJwks().getInlineString()).contains("\"keys\"");
    assertThat(shop.getPayloadInMetadata()).isEqualTo(ISS);
    assertThat(shop.getForwardPayloadHeader()).isEqualTo("x-jwt-payload");
    assertThat(c.getRules(0).getRequires().getRequiresAny().getRequirementsList())
        .extracting(r -> r.getRequiresTypeCase().name())
        .containsExactly("PROVIDER_NAME", "PROVIDER_NAME", "ALLOW_MISSING");
    // Another workload of shop: only the mesh-wide rule; another namespace without policies: none but the mesh's.
    assertThat(RequestAuthenticationTranslator.config("shop", Map.of("app", "web"), ras,
        AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE).getProvidersMap()).containsOnlyKeys("origins-0");
    assertThat(RequestAuthenticationTranslator.config("shop", PRODUCT, List.of(ras.getFirst()), "istio-system")
        .getProvidersCount()).isEqualTo(1);
    assertThat(RequestAuthenticationTranslator.config("ops", PRODUCT, List.of(ras.getFirst()), "istio-system")).isNull();
  }

  @Test
  void badDocumentsAreRejectedNamingFileDocumentAndField() {
    assertThatThrownBy(() -> PolicyParser.parse("ra.yaml", requestAuthentication("shop", """
        targetRef: { kind: Gateway, name: gw }
        jwtRules:
        - issuer: a
          jwks: '{"nope": 1}'
          fromCookies: [ "bad;name" ]
          outputClaimToHeaders: [ { header: host, claim: sub }, { header: x-a, claim: sub }, { header: X-A, claim: iss } ]
        - issuer: a
          jwksUri: ftp://keys
        - audiences: [ x ]
          forwardOriginalToken: maybe
        """))).isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.getMessage())
        .contains("ra.yaml")
        .contains("RequestAuthentication/jwt")
        .contains("spec.targetRef: targetRef (Gateway API attachment) is not supported")
        .contains("spec.jwtRules[0].jwks: expected a JWKS")
        .contains("spec.jwtRules[0].fromCookies: 'bad;name' is not a cookie name")
        .contains("spec.jwtRules[0].outputClaimToHeaders[0].header: 'host' is not a header name a claim may set")
        .contains("spec.jwtRules[0].outputClaimToHeaders[2].header: 'X-A' is set twice")
        .contains("spec.jwtRules[1].issuer: 'a' is listed twice")
        .contains("spec.jwtRules[1].jwksUri: 'ftp://keys' is not an http(s) URL")
        .contains("spec.jwtRules[2].issuer: is required")
        .contains("spec.jwtRules[2].jwksUri: one of jwksUri or jwks is required")
        .contains("spec.jwtRules[2].forwardOriginalToken: expected true or false"));
  }
}
