package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import java.util.function.Consumer;

/**
 * A check a filter asks the connection to make of the upstream's response head before it reaches the client
 * (ext_proc's response-headers phase), as Envoy's encoder filters stop on encodeHeaders: set with
 * {@link FilterContext#checkResponse} while the request is decided, started by the connection on its event loop once
 * the final response head arrived, with the upstream's reads paused until it answers. An allowed outcome's
 * {@link CheckOutcome#upstreamHeaders()} are applied to the response head; a denied one replaces the upstream's
 * response with its local reply. Implementations are immutable and shared; {@link #start} is called on the
 * connection's event loop and must not block.
 */
public interface ResponseCheck {
  /**
   * Starts the check of {@code response}; {@code done} is called exactly once, on {@code response.loop()}, unless the
   * returned call is cancelled first (the client left, the stream was reset or timed out).
   */
  UpstreamCalls.Call start(CheckedResponse response, Consumer<CheckOutcome> done);
}
