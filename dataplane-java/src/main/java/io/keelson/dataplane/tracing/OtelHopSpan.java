package io.keelson.dataplane.tracing;

import io.keelson.dataplane.route.RequestHead;
import io.opentelemetry.api.trace.Span;

/** An OpenTelemetry SDK span behind {@link HopSpan}. Event-loop confined. */
final class OtelHopSpan implements HopSpan {
  private final Span span;

  OtelHopSpan(Span span) {
    this.span = span;
  }

  @Override
  public void request(RequestHead request, String protocol, String client) {
    SpanExport.requestAttributes(span, request.method(), request.path(), request.query(), request.authority(), protocol,
        request.header("user-agent"), client);
  }

  @Override
  public void end(int status, String flags, String cluster, String upstream, long bytesReceived, long bytesSent) {
    SpanExport.end(span, status, flags, cluster, upstream);
  }
}
