package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.route.RequestHead;

/** Builds the Location of an Envoy redirect route from the request (HTTP/1.1 or HTTP/2). Stateless. */
public final class Redirects {
  private Redirects() {}

  /**
   * @param matchedPrefix how much of the path the route's match consumed (for prefix_rewrite), or -1
   */
  public static String location(RouteAction.Redirect r, RequestHead request, int matchedPrefix) {
    String authority = request.authority() == null ? "" : request.authority();
    String host = authority;
    String port = null;
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']') < colon) {
      host = authority.substring(0, colon);
      port = authority.substring(colon + 1);
    }
    String scheme = r.scheme() != null ? r.scheme() : "http";
    if (r.host() != null) {
      host = r.host(); // as in Envoy, host_redirect replaces the whole authority, port included
      port = null;
    }
    if (r.port() > 0) {
      port = Integer.toString(r.port());
    } else if (r.scheme() != null) {
      port = null; // a scheme change drops the old port, as Envoy does
    }
    String path = request.path();
    if (r.path() != null) {
      path = r.path();
    } else if (r.prefixRewrite() != null && matchedPrefix >= 0) {
      path = r.prefixRewrite() + path.substring(Math.min(path.length(), matchedPrefix));
    }
    StringBuilder out = new StringBuilder(64).append(scheme).append("://").append(host);
    if (port != null) {
      out.append(':').append(port);
    }
    out.append(path);
    if (!r.stripQuery() && request.query() != null && (r.path() == null || !r.path().contains("?"))) {
      out.append('?').append(request.query());
    }
    return out.toString();
  }
}
