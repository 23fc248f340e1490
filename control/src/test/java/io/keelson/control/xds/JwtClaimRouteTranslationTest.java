package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.security.RequestAuthenticationTranslator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's {@code @request.auth.claims.*} VirtualService matches as istiod translates them: a route
 * {@code dynamic_metadata} matcher on {@code istio_authn} / {@code request.auth.claims} (never a header matcher), and the
 * gateway's jwt_authn providers clearing the route cache; malformed {@code @} keys are refused.
 */
class JwtClaimRouteTranslationTest {
  /** The matches of a VirtualService's one http rule whose {@code match} list is {@code match} (flow YAML). */
  static List<Policy.Match> matches(String match) throws PolicyException {
    Policy.Routes vs = (Policy.Routes) PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com ]
          http:
          - match: [ %s ]
            route: [ { destination: { host: product } } ]
        """.formatted(match)).policies().getFirst();
    return vs.rules().getFirst().matches();
  }

  @Test
  void claimKeysBecomeIstioAuthnMetadataMatchersAndWithoutHeadersInverts() throws Exception {
    RouteMatch m = RouteBuilder.match(matches("""
        { headers: { "@request.auth.claims.groups": { exact: admin }, x-plain: { prefix: a } },
          withoutHeaders: { "@request.auth.claims.org.suspended": { regex: "y.*" }, "@request.auth.claims.banned": {} } }
        """).getFirst());
    assertThat(m.getHeadersList()).extracting(h -> h.getName()).containsExactly("x-plain");
    assertThat(m.getDynamicMetadataList()).hasSize(3);
    MetadataMatcher groups = m.getDynamicMetadata(0);
    assertThat(groups.getFilter()).isEqualTo("istio_authn");
    assertThat(groups.getPathList()).extracting(MetadataMatcher.PathSegment::getKey)
        .containsExactly("request.auth.claims", "groups");
    assertThat(groups.getValue().getListMatch().getOneOf().getStringMatch().getExact()).isEqualTo("admin");
    assertThat(groups.getInvert()).isFalse();
    MetadataMatcher suspended = m.getDynamicMetadata(1);
    assertThat(suspended.getPathList()).extracting(MetadataMatcher.PathSegment::getKey)
        .containsExactly("request.auth.claims", "org", "suspended");
    assertThat(suspended.getValue().getListMatch().getOneOf().getStringMatch().getSafeRegex().getRegex()).isEqualTo("y.*");
    assertThat(suspended.getInvert()).isTrue();
    MetadataMatcher banned = m.getDynamicMetadata(2);
    assertThat(banned.getValue().getPresentMatch()).isTrue();
    assertThat(banned.getInvert()).as("{}: the claim is absent").isTrue();
  }

  @Test
  void malformedAtKeysAreRefusedNamingTheField() {
    assertThatThrownBy(() -> matches("""
        { headers: { "@request.auth.claims.": { exact: a }, "@request.auth.principal": { exact: b } },
          withoutHeaders: { "@request.auth.claims.a..b": { exact: c } } }
        """)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("headers.@request.auth.claims.: expected @request.auth.claims.<claim> with a non-empty claim name")
        .hasMessageContaining("headers.@request.auth.principal: only @request.auth.claims.<claim> keys are supported")
        .hasMessageContaining("withoutHeaders.@request.auth.claims.a..b: expected @request.auth.claims.<claim>");
  }

  @Test
  void aGatewaysJwtProvidersClearTheRouteCacheAndASidecarsDoNot() throws Exception {
    var ra = (Policy.RequestAuthentication) PolicyParser.parse("ra.yaml", """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: { name: idp, namespace: istio-system }
        spec:
          jwtRules: [ { issuer: "https://idp.example", jwksUri: "https://idp.example/jwks.json" } ]
        """).policies().getFirst();
    var gateway = RequestAuthenticationTranslator.config("istio-system", Map.of(), List.of(ra), "istio-system", true);
    assertThat(gateway.getProvidersMap().values()).allSatisfy(p -> {
      assertThat(p.getClearRouteCache()).isTrue();
      assertThat(p.getPayloadInMetadata()).isEqualTo("https://idp.example");
    });
    var sidecar = RequestAuthenticationTranslator.config("istio-system", Map.of(), List.of(ra), "istio-system");
    assertThat(sidecar.getProvidersMap().values()).noneMatch(p -> p.getClearRouteCache());
  }
}
