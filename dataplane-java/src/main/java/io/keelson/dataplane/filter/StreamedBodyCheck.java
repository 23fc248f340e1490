package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

/**
 * A check a body streams through chunk by chunk (ext_proc's STREAMED request or response body): set with
 * {@link FilterContext#streamRequestBody} / {@link FilterContext#streamResponseBody}; the connection starts it when the
 * body's head is forwarded (the request's after its headers were checked, the response's after its head was) and hands
 * it every chunk as read instead of forwarding it; what comes back, in order, is forwarded. The body may change size:
 * the connection forwards it chunked (HTTP/1.1) or as DATA without content-length (HTTP/2). Implementations are
 * immutable and shared; {@link #start} must not block.
 */
public interface StreamedBodyCheck {
  /** Starts one body's stream on {@code loop}; {@code sink} is called on {@code loop} only. */
  Body start(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, Sink sink);

  /** One body's stream. Confined to its loop. */
  interface Body {
    /**
     * The next chunk as read (ownership taken); {@code last} with the body's end (an empty chunk when the end came
     * alone), {@code trailers} when that end carries trailers (then the body's end is not the message's: Envoy's
     * last body message has {@code end_of_stream: false} and the trailers follow). Nothing is offered after the last
     * chunk nor after {@link Sink#denied}.
     */
    void offer(ByteBuf chunk, boolean last, boolean trailers);

    /**
     * The exchange ended before the body did (the client reset or left, the upstream failed, the response ended first):
     * release what is held and stop (timers included). Later offers are released unread. Idempotent; a no-op for a body
     * whose own exchange end hook does this (ext_proc's).
     */
    default void cancel() {
    }
  }

  /** Where a body's stream goes: the connection. */
  interface Sink {
    /** The next chunk to forward, in order (ownership passed); {@code last} once, with the body's end. */
    void forward(ByteBuf chunk, boolean last);

    /**
     * The body must not go on ({@code outcome} denied: an immediate response, a failed or timed-out processor): answered
     * locally when nothing of the response was sent, else the exchange is cut. Nothing follows.
     */
    void denied(CheckOutcome outcome);

    /**
     * Too much is in flight: stop reading the body's producer until {@link #resume}. Idempotent; held apart from the
     * connection's own flow control, which does not resume reading while the body holds it paused.
     */
    void pause();

    void resume();
  }
}
