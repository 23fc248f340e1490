package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * Side calls a filter makes to a cluster on behalf of a request (the ext_authz check): an ordinary
 * upstream request of that cluster through one event loop's upstream channels (its transport socket,
 * pooled HTTP/1.1 connections or HTTP/2 streams, its default-priority circuit breakers), whose whole
 * answer comes back to the caller. Called on {@code loop} only; the callback runs on {@code loop}.
 */
public interface UpstreamCalls {
  /** {@link Callback#onFailure}'s reason when the call's timeout passed. */
  String TIMEOUT = "timeout";

  /** A complete answer: status, headers, body (at most the caller's bound) and trailers (empty for none). */
  record Response(int status, HttpHeaders headers, byte[] body, HttpHeaders trailers) {}

  /** Gets exactly one of its methods called, once, on the event loop. */
  interface Callback {
    void onResponse(Response response);

    /** No complete answer: connect or TLS failure, overflow, reset, close, timeout, or a body over the bound. */
    void onFailure(String reason);
  }

  /** An outstanding call, which its caller can give up on. Confined to the loop the call was made on. */
  interface Call {
    /** A call that already ended (or never started): cancelling it does nothing. */
    Call ENDED = () -> {};

    /**
     * Gives the call up if it has not ended: no callback follows, its connection (HTTP/1.1) is closed or its
     * stream (HTTP/2) reset, and its circuit-breaker slots are released at once. A no-op once it ended.
     */
    void cancel();
  }

  /**
   * Sends {@code request} to {@code endpoint} of {@code cluster}; never blocks, never throws.
   *
   * @param request      released by the callee
   * @param timeoutNanos the whole call (connect included) fails after this long; 0 for no limit
   * @param maxBodyBytes an answer with a longer body fails
   * @return the call, to cancel when its answer is no longer wanted
   */
  Call call(EventLoop loop, ServingCluster cluster, EndpointConfig endpoint, FullHttpRequest request, long timeoutNanos,
      int maxBodyBytes, Callback callback);
}
