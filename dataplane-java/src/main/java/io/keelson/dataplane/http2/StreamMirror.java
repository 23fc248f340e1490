package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.mirror.RequestMirror;
import io.keelson.dataplane.mirror.ShadowHead;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * request_mirror_policies for one HTTP/2 stream: the same {@link RequestMirror} as the HTTP/1.1
 * path, fed from Netty's HTTP objects. The head is copied as it goes upstream (after the route's
 * header rules), the body as it arrives (up to {@link RequestMirror#MAX_BODY_BYTES}; a longer one is
 * not mirrored and counted), its trailers too, and the copy leaves when the request has ended, through
 * this event loop's upstream channels ({@link ShadowSender}), fire and forget. Confined to the
 * stream's event loop.
 */
final class StreamMirror {
  /** Netty's HTTP/2 conversion headers (x-http2-scheme, -stream-id...): not request headers. */
  private static final String EXTENSION_PREFIX = "x-http2-";

  private RequestMirror mirror;

  /**
   * Samples the route's mirror policies for this request, once it is routed and its headers are
   * final; a no-op for a route without any.
   *
   * @param request        the request as it goes upstream (read here, not kept)
   * @param endedWithHead  the client ended the stream with its HEADERS (no body)
   * @param bodySoFar      body received while routing (read, not consumed)
   */
  void start(RouteAction.Forward forward, ServingSnapshot snapshot, ServerStreams streams, EventLoop loop,
      HttpRequest request, boolean endedWithHead, Iterable<HttpContent> bodySoFar) {
    if (forward.mirrors().isEmpty() || request.method() == io.netty.handler.codec.http.HttpMethod.CONNECT) {
      return; // a tunnel is not mirrored (as an HTTP/1.1 upgrade is not)
    }
    long declared = declaredLength(request);
    try {
      mirror = RequestMirror.start(forward.mirrors(), forward.timeout(), snapshot, streams.context().stats(),
          streams.upstreams().get().shadows(), loop, declared, () -> head(request, endedWithHead, declared));
    } catch (IllegalArgumentException e) {
      mirror = null; // a header or target HTTP/1.1 cannot carry: this request is not mirrored, the stream goes on
      return;
    }
    if (mirror == null) {
      return;
    }
    for (HttpContent c : bodySoFar) {
      onBody(c);
      if (mirror == null) {
        return;
      }
    }
  }

  /** A body chunk of the request (read, not consumed); on the last one the copy is sent. */
  void onBody(HttpContent c) {
    if (mirror == null) {
      return;
    }
    if (!mirror.onBody(c.content())) {
      mirror = null; // over the bound: dropped and counted
      return;
    }
    if (c instanceof LastHttpContent last) {
      RequestMirror m = mirror;
      mirror = null;
      m.onComplete(last.trailingHeaders().isEmpty() ? null : last.trailingHeaders());
    }
  }

  /** The stream ended before its request did (reset, local reply): nothing is sent. */
  void abandon() {
    if (mirror != null) {
      mirror.abandon();
      mirror = null;
    }
  }

  private static long declaredLength(HttpRequest request) {
    String cl = request.headers().get(HttpHeaderNames.CONTENT_LENGTH);
    if (cl == null) {
      return -1;
    }
    try {
      return Long.parseLong(cl.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static ShadowHead head(HttpRequest request, boolean endedWithHead, long declared) {
    Http1Headers h = new Http1Headers(request.headers().size() + 2);
    Iterator<Map.Entry<String, String>> it = request.headers().iteratorAsString();
    while (it.hasNext()) {
      Map.Entry<String, String> e = it.next();
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (!name.startsWith(EXTENSION_PREFIX)) {
        h.add(name, e.getValue());
      }
    }
    String target = request.uri();
    int hash = target.indexOf('#');
    if (hash >= 0) {
      target = target.substring(0, hash);
    }
    String method = request.method().name();
    if (!visibleAscii(target) || !visibleAscii(method)) {
      throw new IllegalArgumentException("not a valid HTTP/1.1 request line"); // the copy could inject one
    }
    return new ShadowHead(method, target, h, declared, !endedWithHead || declared >= 0);
  }

  private static boolean visibleAscii(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return false;
      }
    }
    return true;
  }
}
