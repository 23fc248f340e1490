package io.keelson.dataplane.filter.cors;

import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterRandom;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.route.ValueMatch;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * Envoy's CORS filter (cors_filter.cc) for one route's policy. A request with an Origin header on a
 * forwarding route whose policy is enabled: a preflight ({@code OPTIONS} with Access-Control-Request-Method)
 * from an allowed origin is answered 200 by the proxy with the policy's access-control-allow-* headers;
 * any other request goes on, and if its origin is allowed its response gets access-control-allow-origin
 * (the request's origin), -allow-credentials and -expose-headers, replacing the upstream's. A preflight
 * from another origin goes upstream untouched, unless forward_not_matching_preflights is false (then it
 * is answered 200 without access-control-allow-origin). Immutable apart from its shared counters;
 * thread-safe. The header lines that do not depend on the request are built once.
 */
final class CorsFilter implements HttpFilter {
  static final String ORIGIN = "origin";
  static final String REQUEST_METHOD = "access-control-request-method";
  static final String REQUEST_HEADERS = "access-control-request-headers";
  static final String REQUEST_PRIVATE_NETWORK = "access-control-request-private-network";
  static final String ALLOW_ORIGIN = "access-control-allow-origin: ";

  private final CorsConfig config;
  private final CorsStats stats;
  private final FilterRandom random;
  private final ValueMatch[] origins;
  private final boolean forwardNotMatching;
  private final boolean echoMethods;
  private final boolean echoHeaders;
  private final boolean privateNetwork;
  /** The preflight reply's header lines that do not depend on the request. */
  private final String preflightHeaders;
  /** The lines after access-control-allow-origin on an allowed actual request's response. */
  private final String responseHeaders;

  CorsFilter(CorsConfig config, CorsStats stats, FilterRandom random) {
    this.config = config;
    this.stats = stats;
    this.random = random;
    this.origins = config.allowOrigins().toArray(new ValueMatch[0]);
    this.forwardNotMatching = config.forwardNotMatchingPreflights() == null || config.forwardNotMatchingPreflights();
    boolean credentials = Boolean.TRUE.equals(config.allowCredentials());
    String credentialsLine = credentials ? "access-control-allow-credentials: true\r\n" : "";
    this.echoMethods = config.allowMethods().equals("*");
    this.echoHeaders = config.allowHeaders().equals("*");
    this.privateNetwork = Boolean.TRUE.equals(config.allowPrivateNetworkAccess());
    this.preflightHeaders = credentialsLine
        + line("access-control-allow-methods", echoMethods ? "" : config.allowMethods())
        + line("access-control-allow-headers", echoHeaders ? "" : config.allowHeaders())
        + line("access-control-max-age", config.maxAge());
    this.responseHeaders = credentialsLine + line("access-control-expose-headers", config.exposeHeaders());
  }

  private static String line(String name, String value) {
    return value.isEmpty() ? "" : name + ": " + value + "\r\n";
  }

  @Override
  public void onRequest(FilterContext context) {
    // Envoy's filter acts on forwarding routes only (direct responses and redirects have no route entry).
    if (context.route == null || !(context.route.action() instanceof RouteAction.Forward)) {
      return;
    }
    boolean enabled = config.filterEnabled() == null || config.filterEnabled().sample(random);
    boolean shadow = !enabled && config.shadowEnabled() != null && config.shadowEnabled().sample(random);
    if (!enabled && !shadow) {
      return;
    }
    RequestHead head = context.head;
    String origin = head.header(ORIGIN);
    if (origin == null || origin.isEmpty()) {
      return;
    }
    boolean allowed = allowed(origin);
    (allowed ? stats.originValid() : stats.originInvalid()).increment();
    if (!enabled) {
      return; // shadow mode: counted, not enforced
    }
    String requestMethod;
    if (head.method().equals("OPTIONS") && (requestMethod = head.header(REQUEST_METHOD)) != null && !requestMethod.isEmpty()) {
      if (!allowed && forwardNotMatching) {
        return;
      }
      context.localReply(200, "", preflight(head, allowed ? origin : null, requestMethod), ResponseFlag.CORS);
      return;
    }
    if (allowed) {
      context.setResponseHeaders(ALLOW_ORIGIN + origin + "\r\n" + responseHeaders);
    }
  }

  private String preflight(RequestHead head, String origin, String requestMethod) {
    String out = origin == null ? preflightHeaders : ALLOW_ORIGIN + origin + "\r\n" + preflightHeaders;
    if (echoMethods) {
      out += "access-control-allow-methods: " + requestMethod + "\r\n";
    }
    if (echoHeaders) {
      String h = head.header(REQUEST_HEADERS);
      out += "access-control-allow-headers: " + (h == null ? "" : h) + "\r\n";
    }
    if (privateNetwork && "true".equals(head.header(REQUEST_PRIVATE_NETWORK))) {
      out += "access-control-allow-private-network: true\r\n";
    }
    return out;
  }

  /** Envoy: an origin is allowed when a matcher matches it, or matches {@code *} (then every origin is). */
  private boolean allowed(String origin) {
    if (config.anyOrigin()) {
      return true;
    }
    for (ValueMatch m : origins) {
      if (m.matches(origin)) {
        return true;
      }
    }
    return false;
  }
}
