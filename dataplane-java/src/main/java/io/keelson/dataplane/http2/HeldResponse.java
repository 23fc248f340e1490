package io.keelson.dataplane.http2;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * An upstream's final response held while a filter checks it (ext_proc): the head and what followed it before the
 * upstream's reads were paused; or, for a check of the whole body, every piece up to the check's limit. Owned by one
 * {@link StreamProxy} on its event loop.
 */
final class HeldResponse {
  private final ArrayDeque<HttpObject> pieces = new ArrayDeque<>(4);
  private HttpResponse head;
  private final io.keelson.dataplane.filter.AwaitedBody awaited = new io.keelson.dataplane.filter.AwaitedBody();

  HeldResponse(HttpResponse head) {
    this.head = head;
    add(head);
  }

  HttpResponse head() {
    return head;
  }

  void add(HttpObject piece) {
    pieces.add(piece);
    if (piece instanceof HttpContent c) {
      awaited.counted(c.content().readableBytes());
    }
  }

  /** Whether the response ended while held. */
  boolean complete() {
    return pieces.peekLast() instanceof LastHttpContent;
  }

  /** The whole-body check's state (ext_proc's BUFFERED response body). */
  io.keelson.dataplane.filter.AwaitedBody awaited() {
    return awaited;
  }

  /** A copy of the body held. */
  byte[] bodyBytes() {
    java.util.List<io.netty.buffer.ByteBuf> contents = new java.util.ArrayList<>(pieces.size());
    for (HttpObject p : pieces) {
      if (p instanceof HttpContent c) {
        contents.add(c.content());
      }
    }
    return io.keelson.dataplane.filter.CheckedBody.copy(contents);
  }

  /** Replaces the whole body with {@code replacement}, framed by a content-length; trailers are dropped. */
  void replaceBody(byte[] replacement) {
    HttpResponse h = new DefaultHttpResponse(head.protocolVersion(), head.status(), head.headers().copy());
    h.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
    h.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, replacement.length);
    release();
    head = h;
    add(h);
    add(new DefaultLastHttpContent(Unpooled.wrappedBuffer(replacement)));
  }

  /** The next piece to relay (the head first), or null. */
  HttpObject poll() {
    return pieces.pollFirst();
  }

  void release() {
    pieces.forEach(ReferenceCountUtil::release);
    pieces.clear();
    awaited.cleared();
  }

  /** No body follows the head (end of stream on it, a zero content-length, or a response to HEAD). */
  static boolean bodyless(HttpResponse r, boolean headRequest) {
    return r instanceof FullHttpResponse f && !f.content().isReadable()
        || io.netty.handler.codec.http.HttpUtil.getContentLength(r, -1L) == 0 || headRequest;
  }
}
