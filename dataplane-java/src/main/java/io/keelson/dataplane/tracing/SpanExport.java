package io.keelson.dataplane.tracing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.util.concurrent.TimeUnit;

/**
 * Exports one proxy's spans to one OTLP/gRPC collector. Spans are started and ended on event loops;
 * the SDK's BatchSpanProcessor queues them (bounded, dropping when full) and exports on its own thread.
 * Thread-safe.
 */
public final class SpanExport implements AutoCloseable {
  static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<String> QUERY = AttributeKey.stringKey("url.query");
  static final AttributeKey<String> SCHEME = AttributeKey.stringKey("url.scheme");
  static final AttributeKey<String> SERVER = AttributeKey.stringKey("server.address");
  static final AttributeKey<String> PROTOCOL = AttributeKey.stringKey("network.protocol.version");
  static final AttributeKey<String> USER_AGENT = AttributeKey.stringKey("user_agent.original");
  static final AttributeKey<String> CLIENT = AttributeKey.stringKey("client.address");
  static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> UPSTREAM_CLUSTER = AttributeKey.stringKey("upstream_cluster");
  static final AttributeKey<String> UPSTREAM_ADDRESS = AttributeKey.stringKey("upstream_address");
  static final AttributeKey<String> RESPONSE_FLAGS = AttributeKey.stringKey("response_flags");

  /**
   * How long sampled spans wait in the SDK's queue before an export (a full batch of 512 goes at once):
   * each export wakes the batch processor and the gRPC threads on the proxy's core, so fewer, larger
   * exports cost less (docs/observability.md). The SDK's default is 5 s.
   */
  static final long EXPORT_DELAY_MILLIS = Long.getLong("keelson.tracing.exportDelayMillis", 1_000);

  private final ManagedChannel channel;
  private final SdkTracerProvider provider;
  private final Tracer tracer;

  public SpanExport(String host, int port, String serviceName) {
    channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    @SuppressWarnings("deprecation") // setChannel is how the exporter runs on grpc-java instead of OkHttp
    OtlpGrpcSpanExporter exporter = OtlpGrpcSpanExporter.builder().setChannel(channel).build();
    provider = SdkTracerProvider.builder()
        .setIdGenerator(new HopIds())
        .setResource(Resource.getDefault().merge(Resource.create(
            Attributes.of(AttributeKey.stringKey("service.name"), serviceName))))
        .addSpanProcessor(BatchSpanProcessor.builder(exporter).setScheduleDelay(EXPORT_DELAY_MILLIS, TimeUnit.MILLISECONDS).build())
        .build();
    tracer = provider.get("io.keelson.dataplane");
  }

  /**
   * Starts this hop's server span with the given ids (already propagated upstream).
   *
   * @param parentSpanId the caller's span, or null for a root span
   */
  public Span start(String name, String traceId, String spanId, String parentSpanId, long startEpochNanos) {
    Context parent = Context.root();
    if (parentSpanId != null) {
      parent = parent.with(Span.wrap(SpanContext.createFromRemoteParent(traceId, parentSpanId, TraceFlags.getSampled(),
          TraceState.getDefault())));
    }
    HopIds.set(parentSpanId == null ? traceId : null, spanId);
    return tracer.spanBuilder(name).setParent(parent).setSpanKind(SpanKind.SERVER)
        .setStartTimestamp(startEpochNanos, TimeUnit.NANOSECONDS).startSpan();
  }

  /** As {@link #start}, behind the tracing seam the exchanges use. */
  public HopSpan startHop(String name, String traceId, String spanId, String parentSpanId, long startEpochNanos) {
    return new OtelHopSpan(start(name, traceId, spanId, parentSpanId, startEpochNanos));
  }

  /** Sets the response attributes and ends the span. */
  public static void end(Span span, int status, String flags, String cluster, String upstream) {
    span.setAttribute(STATUS, (long) status);
    if (cluster != null) {
      span.setAttribute(UPSTREAM_CLUSTER, cluster);
    }
    if (upstream != null) {
      span.setAttribute(UPSTREAM_ADDRESS, upstream);
    }
    span.setAttribute(RESPONSE_FLAGS, flags);
    if (status >= 500 || status == 0) {
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }

  public static void requestAttributes(Span span, String method, String path, String query, String authority,
      String protocol, String userAgent, String client) {
    span.setAttribute(METHOD, method);
    span.setAttribute(PATH, path);
    if (query != null && !query.isEmpty()) {
      span.setAttribute(QUERY, query);
    }
    span.setAttribute(SCHEME, "http");
    if (authority != null) {
      span.setAttribute(SERVER, authority);
    }
    span.setAttribute(PROTOCOL, protocol);
    if (userAgent != null) {
      span.setAttribute(USER_AGENT, userAgent);
    }
    span.setAttribute(CLIENT, client);
  }

  @Override
  public void close() {
    provider.shutdown().join(5, TimeUnit.SECONDS);
    channel.shutdownNow();
  }
}
