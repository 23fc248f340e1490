package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import java.util.function.Consumer;

/**
 * A check a filter asks the connection to make before it acts on the filters' verdict (ext_authz's call
 * to the authorization server): set with {@link FilterContext#checkExternally}, started by the connection
 * on its event loop once routing is done, and answered there. As Envoy stops its filter chain at ext_authz, the
 * filters after the one that asked run only once the check lets the request through, on the request with the
 * check's headers ({@link FilterChain#resume}); a denied check runs none of them. Implementations are
 * immutable and shared; {@link #start} is called on the connection's event loop and must not block.
 */
public interface ExternalCheck {
  /**
   * Starts the check of {@code request}; {@code done} is called exactly once, on {@code request.loop()}, unless
   * the returned call is cancelled first (as Envoy cancels the check when the stream goes away: the client left,
   * reset its stream, or the stream timed out), after which it is never called.
   *
   * @return the outstanding call to cancel when the answer is no longer wanted ({@link UpstreamCalls.Call#ENDED}
   *         when {@code done} was already called)
   */
  UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done);
}
