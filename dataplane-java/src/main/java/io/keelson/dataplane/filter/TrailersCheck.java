package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;
import java.util.function.Consumer;

/**
 * A check of a request's or response's trailers before they go on (ext_proc's {@code request_trailer_mode} /
 * {@code response_trailer_mode: SEND}): set with {@link FilterContext#checkRequestTrailers} /
 * {@link FilterContext#checkResponseTrailers}; the connection starts it when the message ends with trailers (HTTP/2
 * and gRPC trailers, HTTP/1.1 chunked trailers; a message without trailers is not checked, as Envoy calls no trailers
 * phase then) and holds the end until it answers. An allowed outcome's {@link CheckOutcome#upstreamHeaders()} are
 * applied to the trailers; a denied one is answered locally when nothing of the response was sent, else the exchange
 * is cut. Implementations are immutable and shared; {@link #start} is called on the connection's event loop and must
 * not block.
 */
public interface TrailersCheck {
  /**
   * Starts the check of {@code trailers} (read on {@code loop} only, while the end waits); {@code done} is called
   * exactly once, on {@code loop}, unless the returned call is cancelled first.
   */
  UpstreamCalls.Call start(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
      CheckedRequest.HeaderSource trailers, Consumer<CheckOutcome> done);
}
