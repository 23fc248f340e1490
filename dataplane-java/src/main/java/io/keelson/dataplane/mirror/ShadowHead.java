package io.keelson.dataplane.mirror;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;

/**
 * The head of a mirrored request, whatever protocol the client spoke: what {@link RequestMirror}
 * copies and sends to the shadow. Immutable once built (the headers are
 * the mirror's own copy).
 *
 * @param method        the request method
 * @param target        the origin-form target {@code path[?query]} (or the target as sent for {@code *})
 * @param headers       the header fields as they go upstream (after the route's header rules); Host holds the authority
 * @param contentLength the declared body length, -1 when not declared
 * @param hasBody       the request frames a body (content-length, chunked, or HTTP/2 DATA to come),
 *                      so the copy declares one even when it is empty
 */
public record ShadowHead(String method, String target, Http1Headers headers, long contentLength, boolean hasBody) {

  /** A detached copy of an HTTP/1.1 head. */
  static ShadowHead of(Http1Request head) {
    Http1Headers h = new Http1Headers(head.headers().size() + 2);
    h.copyFrom(head.headers());
    String target = head.query() == null ? head.path() : head.path() + '?' + head.query();
    boolean framed = head.chunked() || head.contentLength() >= 0 && head.headers().contains("content-length");
    return new ShadowHead(head.method(), target, h, head.contentLength(), framed);
  }
}
