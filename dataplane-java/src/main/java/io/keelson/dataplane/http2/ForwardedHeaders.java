package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.edge.HopByHopHeaders;
import io.keelson.dataplane.resilience.RetryHeaders;
import io.keelson.dataplane.resilience.RouterTimingHeaders;
import io.keelson.dataplane.route.RequestHead;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.HttpConversionUtil;
import java.util.List;
import java.util.Locale;

/**
 * The same hop rules as the HTTP/1.1 path's ForwardingHeaders, on Netty's header model: hop-by-hop
 * headers out (TE: trailers kept), x-request-id, rewrites, then the header mutations
 * of weighted cluster, route, virtual host and route table. Netty's HTTP/2 conversion maps
 * :authority to Host and back and drops connection-specific headers on the HTTP/2 side. Stateless.
 */
final class ForwardedHeaders {
  private static final String STREAM_ID = HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text().toString();
  private static final String SCHEME = HttpConversionUtil.ExtensionHeaderNames.SCHEME.text().toString();

  private ForwardedHeaders() {}

  static void prepareRequest(HttpRequest request, RequestHead head, boolean endOfStream, boolean http2Upstream,
      HttpConnectionManagerConfig hcm, VirtualHostConfig vh, RouteEntry route, RouteAction.Forward forward,
      RouteAction.WeightedCluster cluster, long routeTimeoutMs) {
    HttpHeaders h = request.headers();
    String te = h.get(HttpHeaderNames.TE);
    removeHopByHop(h);
    if (te != null && te.toLowerCase(Locale.ROOT).contains("trailers")) {
      h.set(HttpHeaderNames.TE, "trailers"); // gRPC needs it; the only TE value allowed in HTTP/2
    }
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(STREAM_ID);
    for (String consumed : RetryHeaders.CONSUMED) { // read already (the retry policy), never forwarded, as Envoy's router
      h.remove(consumed);
    }
    h.remove(SCHEME); // x-forwarded-for / -proto were set when the head arrived (edge.DownstreamAddress)
    if (http2Upstream) {
      h.set(SCHEME, "http"); // the scheme of the upstream hop (cleartext)
    }
    if (hcm.generateRequestId() && !h.contains("x-request-id")) {
      h.set("x-request-id", java.util.UUID.randomUUID().toString());
    }
    if (forward.prefixRewrite() != null) {
      int matched = route.match().matchedPrefixLength(head);
      if (matched >= 0) {
        String path = forward.prefixRewrite() + head.path().substring(matched);
        request.setUri(head.query() == null ? path : path + "?" + head.query());
      }
    } else if (forward.regexRewrite() != null) {
      String path = forward.regexRewrite().apply(head.path()); // the path without the query; the query kept
      request.setUri(head.query() == null ? path : path + "?" + head.query());
    }
    if (forward.hostRewrite() != null) {
      h.set(HttpHeaderNames.HOST, forward.hostRewrite());
    }
    // Before the route's header mutations, as Envoy's router (a request_headers_to_remove can drop it).
    expectedTimeout(h, hcm, routeTimeoutMs, RouterTimingHeaders.perTryMs(forward), 0);
    apply(h, cluster.requestHeaders());
    apply(h, route.requestHeaders());
    apply(h, vh.requestHeaders());
    apply(h, hcm.routeConfig().requestHeaders());
  }

  /**
   * The body framing fields, written last (after every route and filter header mutation) from the stream itself: the
   * client's Content-Length (the HTTP/2 codec held the DATA frames to it) or the buffered body's length when one is
   * known, else chunked when a body follows (no END_STREAM on the head), else none. No filter or external server can
   * reframe the body an HTTP/1.1 upstream reads.
   *
   * @param length the body length the stream declared or buffered, -1 for none known
   */
  static void framing(HttpHeaders h, boolean endOfStream, long length, boolean http2Upstream) {
    h.remove(HttpHeaderNames.CONTENT_LENGTH);
    h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    if (length >= 0) {
      h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(length));
    } else if (!endOfStream && !http2Upstream) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
    }
  }

  /**
   * Envoy's {@code x-envoy-expected-rq-timeout-ms} on a try (unless suppress_envoy_headers): set when the
   * request is prepared, and again on each retry with the time elapsed since the router had the whole request.
   *
   * @param routeMs the timeout the stream runs under (the route's, or a shorter grpc-timeout), 0 for none
   */
  static void expectedTimeout(HttpHeaders h, HttpConnectionManagerConfig hcm, long routeMs, long perTryMs, long elapsedMs) {
    if (!hcm.suppressEnvoyHeaders()) {
      long ms = RouterTimingHeaders.expectedTimeoutMs(routeMs, perTryMs, elapsedMs);
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
  static void serviceTime(HttpHeaders h, HttpConnectionManagerConfig hcm, long requestCompleteNanos) {
    if (!hcm.suppressEnvoyHeaders()) {
      long ms = RouterTimingHeaders.msSince(requestCompleteNanos);
      if (ms >= 0) {
        h.set(RouterTimingHeaders.UPSTREAM_SERVICE_TIME, Long.toString(ms));
      }
    }
  }

  static void prepareResponse(HttpResponse response, HttpConnectionManagerConfig hcm, VirtualHostConfig vh,
      RouteEntry route, RouteAction.WeightedCluster cluster) {
    HttpHeaders h = response.headers();
    removeHopByHop(h);
    h.remove(STREAM_ID);
    apply(h, cluster.responseHeaders());
    apply(h, route.responseHeaders());
    apply(h, vh.responseHeaders());
    apply(h, hcm.routeConfig().responseHeaders());
  }

  /**
   * A route's own reply (direct_response or redirect): the route's, virtual host's and route configuration's
   * response_headers_to_add / _to_remove, as Envoy's DirectResponseEntry::finalizeResponseHeaders applies them
   * to the local reply. Hop-by-hop fields they might add are dropped.
   */
  static void prepareRouteReply(HttpResponse response, HttpConnectionManagerConfig hcm, VirtualHostConfig vh,
      RouteEntry route) {
    HttpHeaders h = response.headers();
    apply(h, route.responseHeaders());
    if (vh != null) {
      apply(h, vh.responseHeaders());
    }
    apply(h, hcm.routeConfig().responseHeaders());
    removeHopByHop(h);
  }

  /** {@link HopByHopHeaders}: Connection and the headers it names, and the fixed hop-by-hop set. */
  static void removeHopByHop(HttpHeaders h) {
    HopByHopHeaders.removeFrom(h, NettyHeaderAccess.INSTANCE);
  }

  static void apply(HttpHeaders h, HeaderMutations mutations) {
    if (mutations == null || mutations.isEmpty()) {
      return;
    }
    List<String> remove = mutations.remove();
    for (int i = 0; i < remove.size(); i++) {
      h.remove(remove.get(i));
    }
    List<HeaderMutations.HeaderValue> add = mutations.add();
    for (int i = 0; i < add.size(); i++) {
      HeaderMutations.HeaderValue v = add.get(i);
      if (v.append()) {
        h.add(v.name(), v.value());
      } else {
        h.set(v.name(), v.value());
      }
    }
  }
}
