package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import java.util.function.Consumer;

/**
 * A check a filter asks the connection to make of the whole request body before it is forwarded (ext_proc's
 * BUFFERED request body): set with {@link FilterContext#checkRequestBody} together with
 * {@link FilterContext#bufferBody}, started on the connection's event loop once the body was read whole, after any
 * {@link ExternalCheck}. An allowed outcome's {@link CheckOutcome#upstreamHeaders()} change the request's headers and
 * its {@link CheckOutcome#replacementBody()} (when not null) replaces the body, content-length fixed; a denied one is
 * answered locally. Also the check of
 * a whole response body ({@link FilterContext#checkResponseBody}), where the outcome applies to the response.
 * Implementations are immutable and shared; {@link #start} must not block.
 */
public interface BodyCheck {
  /**
   * Starts the check of {@code body}; {@code done} is called exactly once, on {@code body.loop()}, unless the returned
   * call is cancelled first.
   */
  UpstreamCalls.Call start(CheckedBody body, Consumer<CheckOutcome> done);

  /** The largest body held for the check: a response over it is answered 500 (a request's limit is bufferBody's). */
  long maxBytes();
}
