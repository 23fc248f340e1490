package io.keelson.dataplane.http1;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * An upstream's final response held while a filter's response check runs (ext_proc's response headers): the head,
 * the body bytes that came with it before the upstream's reads were paused, and whether it already ended. Bounded by
 * what the reads in flight delivered. Owned by one {@link DownstreamHandler} on its event loop.
 */
final class HeldResponse {
  private final Http1Response head;
  private final List<ByteBuf> body = new ArrayList<>(2);
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
  }

  /** Whether the response ended while held. */
  boolean complete() {
    return complete;
  }

  void complete(Http1Headers trailers) {
    complete = true;
    this.trailers = trailers;
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
  }
}
