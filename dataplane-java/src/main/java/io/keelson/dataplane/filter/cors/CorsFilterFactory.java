package io.keelson.dataplane.filter.cors;

import com.google.protobuf.BoolValue;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.dataplane.config.envoy.MatchTranslator;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.filter.Percents;
import io.keelson.dataplane.route.ValueMatch;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code envoy.filters.http.cors}: the listener-level Cors has no fields (the filter does nothing by
 * itself); each virtual host's and route's policy comes from typed_per_filter_config (a CorsPolicy), or,
 * where neither has one, from the deprecated VirtualHost / RouteAction {@code cors}. A route's policy is
 * merged over its virtual host's field by field, as Envoy reads them. Translates into {@link CorsConfig}
 * and compiles {@link CorsFilter}. Stateless.
 */
public final class CorsFilterFactory implements HttpFilterFactory {
  /** Where the route translator keeps the deprecated route / virtual host cors: its message type. */
  static final String ROUTE_FIELD = io.envoyproxy.envoy.config.route.v3.CorsPolicy.getDescriptor().getFullName();

  @Override
  public String filterName() {
    return "envoy.filters.http.cors";
  }

  @Override
  public Class<? extends Message> configType() {
    return Cors.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return CorsPolicy.class;
  }

  @Override
  public String routeFieldKey() {
    return ROUTE_FIELD;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    return CorsConfig.NO_POLICY; // Cors has no fields
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    if (config instanceof io.envoyproxy.envoy.config.route.v3.CorsPolicy legacy) {
      return policy(legacy.getAllowOriginStringMatchList(), legacy.getAllowMethods(), legacy.getAllowHeaders(),
          legacy.getExposeHeaders(), legacy.getMaxAge(), legacy.hasAllowCredentials() ? legacy.getAllowCredentials() : null,
          legacy.hasAllowPrivateNetworkAccess() ? legacy.getAllowPrivateNetworkAccess() : null,
          legacy.hasForwardNotMatchingPreflights() ? legacy.getForwardNotMatchingPreflights() : null,
          legacy.hasFilterEnabled() ? legacy.getFilterEnabled() : null, legacy.hasShadowEnabled() ? legacy.getShadowEnabled() : null,
          path, errors);
    }
    CorsPolicy p = (CorsPolicy) config;
    return policy(p.getAllowOriginStringMatchList(), p.getAllowMethods(), p.getAllowHeaders(), p.getExposeHeaders(),
        p.getMaxAge(), p.hasAllowCredentials() ? p.getAllowCredentials() : null,
        p.hasAllowPrivateNetworkAccess() ? p.getAllowPrivateNetworkAccess() : null,
        p.hasForwardNotMatchingPreflights() ? p.getForwardNotMatchingPreflights() : null,
        p.hasFilterEnabled() ? p.getFilterEnabled() : null, p.hasShadowEnabled() ? p.getShadowEnabled() : null, path, errors);
  }

  /** The two CorsPolicy messages have the same fields (under other numbers). */
  private static CorsConfig policy(List<StringMatcher> origins, String methods, String headers, String expose, String maxAge,
      BoolValue credentials, BoolValue privateNetwork, BoolValue forwardNotMatching, RuntimeFractionalPercent enabled,
      RuntimeFractionalPercent shadow, String path, ConfigErrors errors) {
    boolean ok = true;
    List<ValueMatch> matches = new ArrayList<>();
    boolean any = false;
    for (int i = 0; i < origins.size(); i++) {
      ValueMatch m = MatchTranslator.stringMatcher(origins.get(i),
          path + ".allow_origin_string_match[" + i + "]", errors);
      if (m == null) {
        ok = false;
        continue;
      }
      matches.add(m);
      any |= m.matches("*");
    }
    ok &= headerValue(methods, path + ".allow_methods", errors);
    ok &= headerValue(headers, path + ".allow_headers", errors);
    ok &= headerValue(expose, path + ".expose_headers", errors);
    ok &= headerValue(maxAge, path + ".max_age", errors);
    if (!ok) {
      return null;
    }
    return new CorsConfig(matches, any, methods, headers, expose, maxAge,
        credentials == null ? null : credentials.getValue(),
        privateNetwork == null ? null : privateNetwork.getValue(),
        forwardNotMatching == null ? null : forwardNotMatching.getValue(),
        enabled == null ? null : Percents.of(enabled.getDefaultValue()),
        shadow == null ? null : Percents.of(shadow.getDefaultValue()));
  }


  /** A header value the filter writes as is: no line breaks (they would end the header). */
  private static boolean headerValue(String value, String path, ConfigErrors errors) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
        errors.error(path, "'" + value.replace("\r", "\\r").replace("\n", "\\n")
            + "' is not a valid header value; expected Latin-1 text without line breaks or control characters");
        return false;
      }
    }
    return true;
  }

  @Override
  public Object mergePerRoute(Object virtualHost, Object route) {
    return CorsConfig.merge((CorsConfig) virtualHost, (CorsConfig) route);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    CorsConfig c = (CorsConfig) settings;
    if (c == CorsConfig.NO_POLICY) {
      return context -> {};
    }
    return new CorsFilter(c, CorsStats.of(resources), resources.random());
  }
}
