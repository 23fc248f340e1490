package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.EventLoop;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;

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

  /**
   * A bidirectional call (a gRPC stream such as ext_proc's Process): the request head goes at once, then parts of
   * the request body as the caller sends them, while the answer's parts come back as they arrive. Confined to the loop
   * the call was made on.
   */
  interface Stream extends Call {
    /** Writes {@code data} (released by the callee) as the next part of the request body; dropped once ended. */
    void send(ByteBuf data);

    /** Ends the request body (END_STREAM); the answer may go on. */
    void halfClose();
  }

  /** Gets {@link #onData} any number of times, then exactly one of {@link #onEnd} / {@link #onFailure}, on the loop. */
  interface StreamCallback {
    /** A part of the answer's body; {@code data} is borrowed for the call only. */
    void onData(ByteBuf data);

    /** The answer ended: its HTTP status, and its trailers (a trailers-only answer's headers). */
    void onEnd(int status, HttpHeaders trailers);

    /** No complete answer: connect or TLS failure, overflow, reset, close. */
    void onFailure(String reason);
  }

  /**
   * Opens a bidirectional call of {@code head} (its body not ended) to {@code endpoint} of an HTTP/2 {@code cluster},
   * holding the cluster's request slot until it ends; never blocks, never throws (a failure is the callback's).
   *
   * @return the call, to send on, half-close, and cancel when it is no longer wanted
   */
  Stream stream(EventLoop loop, ServingCluster cluster, EndpointConfig endpoint, HttpRequest head,
      StreamCallback callback);
}
