package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

/**
 * What a body streams through when two filters asked to stream it (ext_proc STREAMED and bandwidth_limit on the same
 * direction, which config refuses; a second ask at run time lands here): the exchange fails closed, as neither may be
 * skipped silently. A request is answered 500 (or cut once its response started), a response cut; what was read is
 * released. Stateless, shared.
 */
final class StreamedBodyConflict implements StreamedBodyCheck, StreamedBodyCheck.Body {
  static final StreamedBodyConflict INSTANCE = new StreamedBodyConflict();
  private static final CheckOutcome DENIED = CheckOutcome.deny(500,
      "two filters stream this body (ext_proc STREAMED and bandwidth_limit); refused\n", null, ResponseFlag.NONE);

  private StreamedBodyConflict() {
  }

  @Override
  public Body start(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, Sink sink) {
    loop.execute(() -> sink.denied(DENIED)); // after start returned: the connection holds this body by then
    return this;
  }

  @Override
  public void offer(ByteBuf chunk, boolean last, boolean trailers) {
    chunk.release();
  }
}
