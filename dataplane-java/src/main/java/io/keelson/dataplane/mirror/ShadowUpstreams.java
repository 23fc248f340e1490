package io.keelson.dataplane.mirror;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;

/**
 * Where {@link RequestMirror} hands a finished copy: an event loop's upstream connections, which send
 * it as an ordinary upstream request of the shadow cluster (its transport socket, its pooled
 * connections, its circuit breakers) and discard the answer. Implemented by the HTTP/2 package's
 * upstream channels ({@code http2.ShadowSender}). Called on {@code loop} only.
 */
public interface ShadowUpstreams {
  /**
   * Sends {@code copy} to {@code endpoint} of {@code cluster}, fire and forget; never blocks, never
   * throws for the shadow's faults (they are counted in {@code counters}).
   *
   * @param copy         the request as the shadow gets it; released by the callee
   * @param timeoutNanos the shadow's exchange is cut off after this long (its answer is not needed)
   */
  void send(EventLoop loop, ServingCluster cluster, EndpointConfig endpoint, FullHttpRequest copy,
      MirrorCounters counters, long timeoutNanos);
}
