package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.keelson.dataplane.resilience.RetryHeaders;
import io.keelson.dataplane.resilience.RouterTimingHeaders;

/**
 * Prepares heads for the next hop, the way Envoy does: hop-by-hop headers out, x-request-id, path and host
 * rewrites, the router's x-envoy-expected-rq-timeout-ms, then the header mutations of the weighted cluster, route, virtual host and route table, in that order;
 * on responses the router's x-envoy-upstream-service-time. Stateless.
 */
final class ForwardingHeaders {
  private ForwardingHeaders() {}

  /** x-forwarded-for / -proto were set when the head arrived ({@link io.keelson.dataplane.edge.DownstreamAddress}). */
  static void prepareRequest(
      Http1Request request,
      HttpConnectionManagerConfig hcm,
      VirtualHostConfig vh,
      RouteEntry route,
      RouteAction.Forward forward,
      RouteAction.WeightedCluster cluster) {
    Http1Headers h = request.headers();
    HeaderRewriter.removeHopByHop(h);
    h.remove("expect");
    for (String consumed : RetryHeaders.CONSUMED) { // read already (the retry policy), never forwarded, as Envoy's router
      h.remove(consumed);
    }
    if (hcm.generateRequestId() && !h.contains("x-request-id")) {
      h.add("x-request-id", RequestIds.next());
    }
    if (forward.prefixRewrite() != null) {
      int matched = route.match().matchedPrefixLength(request);
      if (matched >= 0) {
        request.setPath(forward.prefixRewrite() + request.path().substring(matched));
      }
    } else if (forward.regexRewrite() != null) {
      request.setPath(forward.regexRewrite().apply(request.path())); // path() has no query; setPath keeps it
    }
    if (forward.hostRewrite() != null) {
      h.set("host", forward.hostRewrite());
    }
    // Before the route's header mutations, as Envoy's router (a request_headers_to_remove can drop it).
    expectedTimeout(h, hcm, forward, 0);
    HeaderRewriter.apply(h, cluster.requestHeaders());
    HeaderRewriter.apply(h, route.requestHeaders());
    HeaderRewriter.apply(h, vh.requestHeaders());
    HeaderRewriter.apply(h, hcm.routeConfig().requestHeaders());
  }

  /**
   * The body framing fields, written last (after every route and filter header mutation) from the framing the parser
   * derived: the body goes upstream as it was read (chunks re-encoded, a fixed length raw), so a Content-Length or
   * Transfer-Encoding a filter or an external server set or removed could otherwise turn body bytes into a second
   * request on the pooled connection.
   */
  static void framing(Http1Request request) {
    Http1Headers h = request.headers();
    h.remove("content-length");
    h.remove("transfer-encoding");
    if (request.chunked()) {
      h.add("transfer-encoding", "chunked");
    } else if (request.contentLength() > 0 || request.lengthDeclared()) {
      h.add("content-length", Long.toString(request.contentLength()));
    }
  }

  /**
   * Envoy's {@code x-envoy-expected-rq-timeout-ms} on a try (unless suppress_envoy_headers): set when the
   * request is prepared, and again on each retry with the time elapsed since the router had the whole request.
   */
  static void expectedTimeout(Http1Headers h, HttpConnectionManagerConfig hcm, RouteAction.Forward forward, long elapsedMs) {
    if (!hcm.suppressEnvoyHeaders()) {
      long ms = RouterTimingHeaders.expectedTimeoutMs(forward.timeout().toMillis(), RouterTimingHeaders.perTryMs(forward),
          elapsedMs);
      if (ms > 0) {
        h.set(RouterTimingHeaders.EXPECTED_RQ_TIMEOUT_MS, Long.toString(ms));
      }
    }
  }

  /**
   * Envoy's {@code x-envoy-upstream-service-time} on a response head from the upstream (unless
   * suppress_envoy_headers), before the route's header mutations: none when the response came before the
   * router had the whole request ({@code requestCompleteNanos} is {@link RouterTimingHeaders#INCOMPLETE}).
   */
  static void serviceTime(Http1Headers h, HttpConnectionManagerConfig hcm, long requestCompleteNanos) {
    if (!hcm.suppressEnvoyHeaders()) {
      long ms = RouterTimingHeaders.msSince(requestCompleteNanos);
      if (ms >= 0) {
        h.set(RouterTimingHeaders.UPSTREAM_SERVICE_TIME, Long.toString(ms));
      }
    }
  }

  static void prepareResponse(
      Http1Response response,
      HttpConnectionManagerConfig hcm,
      VirtualHostConfig vh,
      RouteEntry route,
      RouteAction.WeightedCluster cluster) {
    Http1Headers h = response.headers();
    HeaderRewriter.removeHopByHop(h);
    HeaderRewriter.apply(h, cluster.responseHeaders());
    HeaderRewriter.apply(h, route.responseHeaders());
    HeaderRewriter.apply(h, vh.responseHeaders());
    HeaderRewriter.apply(h, hcm.routeConfig().responseHeaders());
  }

  /**
   * The header fields of a route's own reply (direct_response or redirect): its location, then the route's,
   * virtual host's and route configuration's response_headers_to_add / _to_remove, as Envoy's
   * DirectResponseEntry::finalizeResponseHeaders applies them to the local reply.
   */
  static Http1Headers routeReplyHeaders(
      HttpConnectionManagerConfig hcm, VirtualHostConfig vh, RouteEntry route, String location) {
    Http1Headers h = new Http1Headers();
    if (location != null) {
      h.set("location", location);
    }
    HeaderRewriter.apply(h, route.responseHeaders());
    if (vh != null) {
      HeaderRewriter.apply(h, vh.responseHeaders());
    }
    HeaderRewriter.apply(h, hcm.routeConfig().responseHeaders());
    return h;
  }
}
