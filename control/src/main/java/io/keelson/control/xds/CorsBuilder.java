package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.keelson.control.policy.Policy;

/**
 * Istio {@code corsPolicy} (and the Gateway API {@code CORS} filter) to Envoy, as istiod does: the outbound
 * HttpConnectionManager carries {@value #FILTER} with an empty {@link Cors} (no policy) first, and each route
 * of a rule with a policy sets its {@link CorsPolicy} through {@code typed_per_filter_config}: origins as
 * StringMatchers (exact, prefix, safe_regex), lists joined with ',', max age in whole seconds, filter_enabled
 * 100%. Stateless.
 */
final class CorsBuilder {
  static final String FILTER = "envoy.filters.http.cors";
  static final HttpFilter FILTER_ENTRY = HttpFilter.newBuilder().setName(FILTER)
      .setTypedConfig(Any.pack(Cors.getDefaultInstance())).build();

  private CorsBuilder() {}

  static CorsPolicy policy(Policy.Cors c) {
    CorsPolicy.Builder b = CorsPolicy.newBuilder()
        .setFilterEnabled(RuntimeFractionalPercent.newBuilder().setDefaultValue(
            FractionalPercent.newBuilder().setNumerator(100).setDenominator(FractionalPercent.DenominatorType.HUNDRED)));
    for (Policy.StringMatch m : c.allowOrigins()) {
      b.addAllowOriginStringMatch(switch (m.type()) {
        case EXACT -> StringMatcher.newBuilder().setExact(m.value()).build();
        case PREFIX -> StringMatcher.newBuilder().setPrefix(m.value()).build();
        case REGEX -> StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(m.value())).build();
      });
    }
    b.setAllowMethods(String.join(",", c.allowMethods()))
        .setAllowHeaders(String.join(",", c.allowHeaders()))
        .setExposeHeaders(String.join(",", c.exposeHeaders()));
    if (c.maxAge() != null) {
      b.setMaxAge(Long.toString(c.maxAge().getSeconds()));
    }
    if (c.allowCredentials() != null) {
      b.setAllowCredentials(BoolValue.of(c.allowCredentials()));
    }
    if (c.forwardUnmatchedPreflights() != null) {
      b.setForwardNotMatchingPreflights(BoolValue.of(c.forwardUnmatchedPreflights()));
    }
    return b.build();
  }

  static Any perRoute(Policy.Cors c) {
    return Any.pack(policy(c));
  }
}
