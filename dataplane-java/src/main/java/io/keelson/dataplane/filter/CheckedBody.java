package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;

/**
 * What a {@link BodyCheck} sees of a request whose body was read whole, and where it may send side calls. Read on
 * {@link #loop} only.
 *
 * @param headers the request's header fields as they are now (after the filters and checks before), in order
 * @param body    a copy of the whole body
 */
public record CheckedBody(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
    CheckedRequest.HeaderSource headers, byte[] body) {

  /** A copy of the readable bytes of {@code parts}, in order (none consumed). */
  public static byte[] copy(Iterable<io.netty.buffer.ByteBuf> parts) {
    int total = 0;
    for (io.netty.buffer.ByteBuf b : parts) {
      total += b.readableBytes();
    }
    byte[] copy = new byte[total];
    int at = 0;
    for (io.netty.buffer.ByteBuf b : parts) {
      b.getBytes(b.readerIndex(), copy, at, b.readableBytes());
      at += b.readableBytes();
    }
    return copy;
  }
}
