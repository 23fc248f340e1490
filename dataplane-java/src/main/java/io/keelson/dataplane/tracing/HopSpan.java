package io.keelson.dataplane.tracing;

import io.keelson.dataplane.route.RequestHead;

/**
 * One sampled hop's span, whichever tracer reports it (OpenTelemetry over OTLP/gRPC, or Zipkin): started with the ids the
 * proxy propagated, given the request's attributes, ended once with the response's. Event-loop confined.
 */
public interface HopSpan {
  /**
   * The request's attributes, as the span starts.
   *
   * @param protocol "1.1", "2", ...
   * @param client   the connection manager's downstream address
   */
  void request(RequestHead request, String protocol, String client);

  /** The downstream connection's local address (Zipkin's local endpoint); ignored by default. */
  default void localAddress(java.net.InetSocketAddress address) {}

  /**
   * The response's attributes; reports the span.
   *
   * @param upstream the upstream host tried ("ip:port"), or null
   */
  void end(int status, String flags, String cluster, String upstream, long bytesReceived, long bytesSent);
}
