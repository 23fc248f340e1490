package io.keelson.dataplane.filter.extauthz;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.envoy.MatchTranslator;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.route.ValueMatch;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code envoy.filters.http.ext_authz}: translates {@code ExtAuthz} (http_service or grpc_service) into {@link ExtAuthzConfig}
 * and {@code ExtAuthzPerRoute} ({@code disabled: true}) into {@link #DISABLED}, and compiles {@link ExtAuthzFilter}.
 * Stateless.
 */
public final class ExtAuthzFilterFactory implements HttpFilterFactory {
  public static final String FILTER_NAME = "envoy.filters.http.ext_authz";
  /** Per-route settings of a route the filter is disabled for. */
  static final Object DISABLED = new Object() {
    @Override
    public String toString() {
      return "ext_authz disabled";
    }
  };

  @Override
  public String filterName() {
    return FILTER_NAME;
  }

  @Override
  public Class<? extends Message> configType() {
    return ExtAuthz.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return ExtAuthzPerRoute.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    ExtAuthz c = (ExtAuthz) message;
    if (c.getServicesCase() == ExtAuthz.ServicesCase.GRPC_SERVICE) {
      return grpc(c, path, errors);
    }
    if (c.getServicesCase() != ExtAuthz.ServicesCase.HTTP_SERVICE) {
      errors.error(path, "an authorization service is required; expected http_service or grpc_service");
      return null;
    }
    HttpService http = c.getHttpService();
    String at = path + ".http_service";
    boolean ok = true;
    String cluster = http.getServerUri().getCluster();
    if (cluster.isEmpty()) {
      errors.error(at + ".server_uri.cluster", "the authorization server's cluster is required");
      ok = false;
    }
    if (!http.getServerUri().hasTimeout()) {
      errors.error(at + ".server_uri.timeout", "a timeout is required (e.g. 0.2s)");
      ok = false;
    }
    long timeoutNanos = http.getServerUri().getTimeout().getSeconds() * 1_000_000_000L + http.getServerUri().getTimeout().getNanos();
    if (http.getServerUri().hasTimeout() && timeoutNanos <= 0) {
      errors.error(at + ".server_uri.timeout", "expected a positive duration");
      ok = false;
    }
    String prefix = http.getPathPrefix();
    if (!prefix.isEmpty() && (!prefix.startsWith("/") || prefix.indexOf('\r') >= 0 || prefix.indexOf('\n') >= 0
        || prefix.indexOf('?') >= 0 || prefix.indexOf(' ') >= 0)) {
      errors.error(at + ".path_prefix", "expected a path starting with '/', without a query, spaces or line breaks");
      ok = false;
    }
    List<ValueMatch> allowed = matchers(c.hasAllowedHeaders() ? c.getAllowedHeaders()
        : http.getAuthorizationRequest().getAllowedHeaders(), c.hasAllowedHeaders() ? path + ".allowed_headers"
        : at + ".authorization_request.allowed_headers", errors);
    List<ValueMatch> disallowed = matchers(c.getDisallowedHeaders(), path + ".disallowed_headers", errors);
    List<HeaderMutations.HeaderValue> toAdd = new ArrayList<>();
    for (var h : http.getAuthorizationRequest().getHeadersToAddList()) {
      toAdd.add(new HeaderMutations.HeaderValue(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue(), false));
    }
    var response = http.getAuthorizationResponse();
    String rat = at + ".authorization_response";
    List<ValueMatch> upstream = matchers(response.getAllowedUpstreamHeaders(), rat + ".allowed_upstream_headers", errors);
    List<ValueMatch> append = matchers(response.getAllowedUpstreamHeadersToAppend(),
        rat + ".allowed_upstream_headers_to_append", errors);
    List<ValueMatch> client = response.hasAllowedClientHeaders()
        ? matchers(response.getAllowedClientHeaders(), rat + ".allowed_client_headers", errors) : null;
    int statusOnError = statusOnError(c, path, errors);
    if (statusOnError < 0) {
      ok = false;
    }
    EnabledMetadata enabled = enabledMetadata(c, path, errors);
    if (c.hasFilterEnabledMetadata() && enabled == null) {
      ok = false;
    }
    if (allowed == null || disallowed == null || upstream == null || append == null
        || (response.hasAllowedClientHeaders() && client == null) || !ok) {
      return null;
    }
    return new ExtAuthzConfig(false, cluster, null, prefix, timeoutNanos, allowed, disallowed, List.copyOf(toAdd), upstream, append,
        client, statusOnError, c.getFailureModeAllow(), c.getFailureModeAllowHeaderAdd(), enabled);
  }

  /** grpc_service: envoy_grpc to a cluster (which must speak HTTP/2: http2_protocol_options). */
  private static ExtAuthzConfig grpc(ExtAuthz c, String path, ConfigErrors errors) {
    var g = c.getGrpcService();
    String at = path + ".grpc_service";
    if (!g.hasEnvoyGrpc()) {
      errors.error(at, "only envoy_grpc is supported; expected envoy_grpc: { cluster_name: ... }");
      return null;
    }
    String cluster = g.getEnvoyGrpc().getClusterName();
    boolean ok = true;
    if (cluster.isEmpty()) {
      errors.error(at + ".envoy_grpc.cluster_name", "the authorization server's cluster is required");
      ok = false;
    }
    long timeoutNanos = g.hasTimeout() ? g.getTimeout().getSeconds() * 1_000_000_000L + g.getTimeout().getNanos() : 200_000_000L;
    if (timeoutNanos <= 0) {
      errors.error(at + ".timeout", "expected a positive duration");
      ok = false;
    }
    List<ValueMatch> allowed = matchers(c.getAllowedHeaders(), path + ".allowed_headers", errors);
    List<ValueMatch> disallowed = matchers(c.getDisallowedHeaders(), path + ".disallowed_headers", errors);
    int statusOnError = statusOnError(c, path, errors);
    EnabledMetadata enabled = enabledMetadata(c, path, errors);
    if (c.hasFilterEnabledMetadata() && enabled == null) {
      ok = false;
    }
    if (!ok || allowed == null || disallowed == null || statusOnError < 0) {
      return null;
    }
    String authority = g.getEnvoyGrpc().getAuthority().isEmpty() ? cluster : g.getEnvoyGrpc().getAuthority();
    return new ExtAuthzConfig(true, cluster, authority, "", timeoutNanos, c.hasAllowedHeaders() ? allowed : null,
        disallowed, List.of(), List.of(), List.of(), null, statusOnError, c.getFailureModeAllow(),
        c.getFailureModeAllowHeaderAdd(), enabled);
  }

  private static EnabledMetadata enabledMetadata(ExtAuthz c, String path, ConfigErrors errors) {
    return c.hasFilterEnabledMetadata()
        ? EnabledMetadata.from(c.getFilterEnabledMetadata(), path + ".filter_enabled_metadata", errors) : null;
  }

  /** status_on_error's code (403 when unset), or -1 after reporting one outside 200..599. */
  private static int statusOnError(ExtAuthz c, String path, ConfigErrors errors) {
    if (!c.hasStatusOnError()) {
      return 403;
    }
    int code = c.getStatusOnError().getCodeValue();
    if (code < 200 || code > 599) {
      errors.error(path + ".status_on_error.code", "expected an HTTP status between 200 and 599, got " + code);
      return -1;
    }
    return code;
  }

  @Override
  public Object translatePerRoute(Message message, String path, ConfigErrors errors) {
    ExtAuthzPerRoute p = (ExtAuthzPerRoute) message;
    if (p.getOverrideCase() == ExtAuthzPerRoute.OverrideCase.DISABLED && p.getDisabled()) {
      return DISABLED;
    }
    if (p.getOverrideCase() == ExtAuthzPerRoute.OverrideCase.CHECK_SETTINGS) {
      errors.error(path + ".check_settings", "per-route check settings are not supported; expected disabled: true");
    } else {
      errors.error(path + ".disabled", "expected disabled: true");
    }
    return null;
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    ExtAuthzStats stats = ExtAuthzStats.of(resources);
    if (settings == DISABLED) {
      return new ExtAuthzFilter(null, stats, null);
    }
    ExtAuthzConfig config = (ExtAuthzConfig) settings;
    return new ExtAuthzFilter(config.grpc() ? new GrpcAuthzCheck(config, stats) : new HttpAuthzCheck(config, stats), stats,
        config.enabledMetadata());
  }

  /** Header-name matchers (names are compared in lower case, so matching ignores case); null after errors. */
  private static List<ValueMatch> matchers(ListStringMatcher list, String path, ConfigErrors errors) {
    List<ValueMatch> out = new ArrayList<>(list.getPatternsCount());
    boolean ok = true;
    for (int i = 0; i < list.getPatternsCount(); i++) {
      StringMatcher m = list.getPatterns(i);
      if (m.getMatchPatternCase() != StringMatcher.MatchPatternCase.SAFE_REGEX) {
        m = m.toBuilder().setIgnoreCase(true).build();
      }
      ValueMatch v = MatchTranslator.stringMatcher(m, path + ".patterns[" + i + "]", errors);
      if (v == null) {
        ok = false;
      } else {
        out.add(v);
      }
    }
    return ok ? List.copyOf(out) : null;
  }
}
