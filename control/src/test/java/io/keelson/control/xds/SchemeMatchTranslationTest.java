package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import org.junit.jupiter.api.Test;

/** Istio's VirtualService {@code match.scheme} as istiod translates it: a route header matcher on {@code :scheme}. */
class SchemeMatchTranslationTest {
  private static RouteMatch translated(String match) throws Exception {
    return RouteBuilder.match(JwtClaimRouteTranslationTest.matches(match).getFirst());
  }

  @Test
  void schemeBecomesAPseudoHeaderMatcherBesideTheOtherHeaders() throws Exception {
    RouteMatch m = translated("{ scheme: { exact: https }, headers: { x-a: { prefix: b } } }");
    assertThat(m.getHeadersList()).extracting(HeaderMatcher::getName).containsExactlyInAnyOrder(":scheme", "x-a");
    HeaderMatcher scheme = m.getHeadersList().stream().filter(h -> h.getName().equals(":scheme")).findFirst().orElseThrow();
    assertThat(scheme.getStringMatch().getExact()).isEqualTo("https");
  }

  @Test
  void schemePrefixAndRegexKeepTheirKind() throws Exception {
    assertThat(translated("{ scheme: { prefix: http } }").getHeaders(0).getStringMatch().getPrefix()).isEqualTo("http");
    assertThat(translated("{ scheme: { regex: \"https?\" } }").getHeaders(0).getStringMatch().getSafeRegex().getRegex())
        .isEqualTo("https?");
  }
}
