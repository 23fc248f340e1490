package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.filter.HttpFilterFactories;
import io.keelson.dataplane.filter.HttpFilterFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Translates a connection manager's http_filters and typed_per_filter_config through the filters'
 * own factories ({@link HttpFilterFactories}). An unknown filter is an error naming it, unless it is
 * marked is_optional (then a warning and the filter is skipped), as in Envoy. Stateless.
 */
final class HttpFilterTranslator {
  private HttpFilterTranslator() {}

  /** The filters before the router, in order; null after reporting errors. */
  static List<HttpFilterConfig> translate(List<HttpFilter> filters, String path, Problems problems) {
    boolean ok = true;
    List<HttpFilterConfig> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    String check = null; // the first filter that asks an external service (its name), after which routes stay chosen
    String coder = null; // the first filter that re-codes request bodies (its path)
    for (int i = 0; i < filters.size(); i++) {
      HttpFilter f = filters.get(i);
      String at = path + "[" + i + "]";
      String type = f.hasTypedConfig() ? SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()) : null;
      if (check != null && JWT_AUTHN.equals(type) && !clearsRouteCacheAfterCheck(f, at, check, problems)) {
        ok = false;
      }
      if (check != null && STATEFUL_SESSION.equals(type)) {
        problems.error(at, "a stateful_session filter after the external check '" + check + "' is not supported (Keelson"
            + " picks the endpoint before the check answers, so the session's host would be ignored); expected it before"
            + " '" + check + "'");
        ok = false;
      }
      if (check == null && (EXT_AUTHZ.equals(type) || RATE_LIMIT.equals(type) || EXT_PROC.equals(type))) {
        check = f.getName();
      }
      boolean router = SupportedTypes.ROUTER.equals(type) || (type == null && f.getName().equals("envoy.filters.http.router"));
      if (router) {
        if (i != filters.size() - 1) {
          problems.error(at, "the router must be the last http filter");
          ok = false;
        }
        continue;
      }
      if (i == filters.size() - 1) {
        problems.error(path, "the last http filter must be the router (envoy.filters.http.router)");
        ok = false;
      }
      if (!names.add(f.getName())) {
        problems.error(at + ".name", "http filter name '" + f.getName() + "' is used twice; expected unique names");
        ok = false;
      }
      HttpFilterFactory factory = type == null ? null : HttpFilterFactories.forType(type);
      if (factory == null) {
        String what = "http filter '" + f.getName() + "'" + (type == null ? " (no typed_config)" : " (" + type + ")");
        if (f.getIsOptional()) {
          problems.warn(at, what + " is not supported and is_optional: skipped");
          continue;
        }
        if (!problems.reportedAt(at + ".typed_config")) {
          problems.error(at, what + " is not supported; expected the router (" + SupportedTypes.ROUTER + ") or one of "
              + HttpFilterFactories.names() + ", or is_optional: true to skip it");
        }
        ok = false;
        continue;
      }
      if (factory instanceof io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory
          && out.stream().anyMatch(c -> c.typeName().equals(type))) {
        problems.error(at, "a second istio.stats http filter in one connection manager is not supported (Envoy would run"
            + " both, reporting each request twice); expected one, with every metrics override in it");
        ok = false;
        continue;
      }
      Object settings = translate(factory, f.getTypedConfig(), at + ".typed_config", problems, false);
      if (settings == null) {
        ok = false;
        continue;
      }
      if (coder != null && BUFFER.equals(type)) {
        problems.error(at, "a buffer filter after the request-direction coding filter at " + coder + " is not supported"
            + " (Keelson codes request bodies when it forwards them, so max_request_bytes would count the bodies before"
            + " coding, not after as Envoy); expected the buffer filter before it, or request_direction_config disabled");
        ok = false;
      }
      if (coder == null && factory.codesRequestBodies(settings)) {
        coder = at;
      }
      out.add(new HttpFilterConfig(f.getName(), type, settings));
    }
    return ok ? out : null;
  }

  private static final String BUFFER =
      io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer.getDescriptor().getFullName();
  private static final String JWT_AUTHN =
      io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor().getFullName();
  private static final String STATEFUL_SESSION =
      io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.getDescriptor().getFullName();
  private static final String EXT_AUTHZ =
      io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.getDescriptor().getFullName();
  private static final String EXT_PROC =
      io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor.getDescriptor().getFullName();
  private static final String RATE_LIMIT =
      io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.getDescriptor().getFullName();

  /**
   * Whether a jwt_authn placed after an external check ({@code check}, ext_authz, ext_proc or ratelimit) asks for no route
   * re-selection: the filters after a check run once the request is routed and balanced, so a {@code clear_route_cache}
   * there could not choose again and the request would go where the client's headers (a forged claim header) chose.
   * Reports each provider that asks; true when none does (or the typed_config is unreadable, reported elsewhere).
   */
  private static boolean clearsRouteCacheAfterCheck(HttpFilter f, String at, String check, Problems problems) {
    io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication jwt;
    try {
      jwt = f.getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.class);
    } catch (InvalidProtocolBufferException e) {
      return true; // the factory's translate reports it
    }
    boolean ok = true;
    for (var e : new java.util.TreeMap<>(jwt.getProvidersMap()).entrySet()) {
      if (e.getValue().getClearRouteCache()) {
        problems.error(at + ".typed_config.providers[\"" + e.getKey() + "\"].clear_route_cache",
            "jwt_authn '" + f.getName() + "' clears the route cache after '" + check + "' (an external check), when the "
                + "route can no longer be chosen again; expected jwt_authn before ext_authz, ext_proc and ratelimit in http_filters, "
                + "or clear_route_cache: false");
        ok = false;
      }
    }
    return ok;
  }

  /**
   * The router's {@code suppress_envoy_headers} (false without a router typed_config). The router must be the last
   * filter ({@link #translate} reports otherwise), so only that one is read.
   */
  static boolean suppressEnvoyHeaders(List<HttpFilter> filters) {
    if (filters.isEmpty()) {
      return false;
    }
    HttpFilter last = filters.getLast();
    if (!last.hasTypedConfig() || !last.getTypedConfig().is(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.class)) {
      return false;
    }
    try {
      return last.getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.class)
          .getSuppressEnvoyHeaders();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return false; // typed_config was checked (and reported) by SupportedFields
    }
  }

  /** typed_per_filter_config: filter name to translated per-route settings (entries in error are left out and reported). */
  static Map<String, Object> perFilter(Map<String, Any> config, String path, Problems problems) {
    if (config.isEmpty()) {
      return Map.of();
    }
    Map<String, Object> out = new LinkedHashMap<>();
    config.forEach((name, any) -> {
      String at = path + "[\"" + name + "\"]";
      String type = SupportedTypes.typeName(any.getTypeUrl());
      HttpFilterFactory factory = HttpFilterFactories.forPerRouteType(type);
      if (factory == null) {
        if (!problems.reportedAt(at)) {
          problems.error(at, "per-filter config type " + type + " is not supported; expected one of " + HttpFilterFactories.names());
        }
        return;
      }
      Object settings = translate(factory, any, at, problems, true);
      if (settings != null) {
        out.put(name, settings);
      }
    });
    return out;
  }

  /**
   * {@code perFilter} with a built-in VirtualHost/RouteAction field that an HTTP filter reads (the deprecated
   * {@code cors}) added under that filter's {@link HttpFilterFactory#routeFieldKey}; unchanged when it is in error.
   */
  static Map<String, Object> withRouteField(Map<String, Object> perFilter, Message field, String path, Problems problems) {
    HttpFilterFactory factory = HttpFilterFactories.forRouteField(field.getDescriptorForType().getFullName());
    if (factory == null) {
      problems.error(path, "no HTTP filter reads " + field.getDescriptorForType().getFullName());
      return perFilter;
    }
    Object settings = factory.translatePerRoute(field, path, problems);
    if (settings == null) {
      return perFilter;
    }
    Map<String, Object> out = new LinkedHashMap<>(perFilter);
    out.put(factory.routeFieldKey(), settings);
    return out;
  }

  private static Object translate(HttpFilterFactory factory, Any any, String path, Problems problems, boolean perRoute) {
    Message message;
    try {
      Class<? extends Message> type = perRoute ? factory.perRouteConfigType() : factory.configType();
      message = any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      problems.error(path, "cannot read " + any.getTypeUrl() + ": " + e.getMessage());
      return null;
    }
    return perRoute ? factory.translatePerRoute(message, path, problems) : factory.translate(message, path, problems);
  }
}
