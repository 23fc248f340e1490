package io.keelson.dataplane.http1;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/**
 * An upstream's final response held while a filter checks it (ext_proc): the head, the body bytes that came with it
 * before the upstream's reads were paused, and whether it already ended; or, for a check of the whole body, every
 * body byte up to the check's limit. Owned by one {@link DownstreamHandler} on its event loop.
 */
final class HeldResponse {
  private final Http1Response head;
  private final List<ByteBuf> body = new ArrayList<>(2);
  private final io.keelson.dataplane.filter.AwaitedBody awaited = new io.keelson.dataplane.filter.AwaitedBody();
  private boolean complete;
  private Http1Headers trailers;

  HeldResponse(Http1Response head) {
    this.head = head;
  }

  Http1Response head() {
    return head;
  }

  void body(ByteBuf content) {
    body.add(content);
    awaited.counted(content.readableBytes());
  }

  /** Whether the response ended while held. */
  boolean complete() {
    return complete;
  }

  void complete(Http1Headers trailers) {
    complete = true;
    this.trailers = trailers;
  }

  /** The whole-body check's state (ext_proc's BUFFERED response body). */
  io.keelson.dataplane.filter.AwaitedBody awaited() {
    return awaited;
  }

  /** A copy of the body held. */
  byte[] bodyBytes() {
    return io.keelson.dataplane.filter.CheckedBody.copy(body);
  }

  /** Replaces the (whole) body with {@code replacement}, framed by a content-length; trailers are dropped. */
  void replaceBody(byte[] replacement) {
    release();
    body.add(Unpooled.wrappedBuffer(replacement));
    trailers = null;
    head.bodyReplaced(replacement.length);
  }

  /** Hands what was held to {@code to} as it came (the head was already relayed). */
  void replay(DownstreamHandler to) {
    for (int i = 0; i < body.size(); i++) {
      to.onResponseBody(body.get(i));
    }
    body.clear();
    if (complete) {
      to.onResponseComplete(trailers);
    }
  }

  void release() {
    for (int i = 0; i < body.size(); i++) {
      body.get(i).release();
    }
    body.clear();
    awaited.cleared();
  }
}
