package io.keelson.bench.jmh;

import io.keelson.dataplane.accesslog.AccessLogRecord;
import io.keelson.dataplane.accesslog.AccessLogService;
import io.keelson.dataplane.accesslog.AccessLogger;
import io.keelson.dataplane.config.AccessLogConfig;
import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.http1.TraceContext;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.stats.IstioDestination;
import io.keelson.dataplane.tracing.SpanExport;
import io.opentelemetry.api.trace.Span;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.StatsRegistry;
import java.io.OutputStream;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What observability adds to one proxied request on the event loop: Istio's metrics (a count and three
 * histograms on pre-resolved series) and an access log record (claim a ring slot, copy the fields,
 * publish; formatting and writing happen on the writer thread, here into a discarding stream).
 * Compare with the ≈10.4 µs of CPU a proxied request costs end to end.
 */
public class ObservabilityBenchmark extends BenchmarkBase {
  private IstioDestination destination;
  private AccessLogService service;
  private AccessLogger logger;
  private long n;

  @Setup
  public void setUp() {
    destination = new StatsRegistry().cluster("outbound|9080||reviews.default.svc.cluster.local").istio;
    service = new AccessLogService(65536, OutputStream.nullOutputStream());
    logger = service.logger(List.of(new AccessLogConfig(null, AccessLogConfig.ENVOY_DEFAULT_FORMAT, null)));
  }

  private SpanExport spans;
  private final TracingConfig tracing = new TracingConfig(null, "bench", 0);
  private final Http1Request request = new Http1Request();

  @Setup
  public void setUpTracing() throws Exception {
    // A collector address nobody listens on: exports fail on the SDK's thread; the event-loop cost is the same.
    spans = new SpanExport("127.0.0.1", 9, "bench");
  }

  @TearDown
  public void tearDown() {
    service.close();
    spans.close();
  }

  private final TraceContext.Hop hop = new TraceContext.Hop();
  private final Http1Request fresh = new Http1Request();
  /**
   * How the upstream {@code traceparent} is set: {@code bytes} as the HTTP/1.1 proxy does (from the hop's
   * bytes, {@code Http1Headers.setLatin1}), {@code string} as before (a 55-char String per request).
   */
  @Param({"bytes", "string"})
  public String upstreamHeader;
  private TraceContext.Setter freshHeaders;
  private TraceContext.Setter headers;

  @Setup
  public void setUpSetters() {
    freshHeaders = setter(fresh, upstreamHeader.equals("bytes"));
    headers = setter(request, upstreamHeader.equals("bytes"));
  }

  private static TraceContext.Setter setter(Http1Request r, boolean bytes) {
    if (!bytes) {
      return (n, v) -> r.headers().set(n, v);
    }
    return new TraceContext.Setter() {
      @Override
      public void set(String name, String value) {
        r.headers().set(name, value);
      }

      @Override
      public void setLatin1(String name, byte[] value, int length) {
        r.headers().setLatin1(name, value, length);
      }
    };
  }

  /**
   * Propagation of an incoming traceparent: parse, new span id, header rewrite (every traced request,
   * as the event loop does it: ids kept in the connection's Hop, only the new header value allocated).
   */
  @Benchmark
  public boolean tracePropagate() {
    request.headers().set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    return TraceContext.propagate(request, headers, tracing, hop);
  }

  /** A request without trace context at 0% sampling: a new trace id and span id, unsampled, traceparent written. */
  @Benchmark
  public boolean traceUnsampledRoot() {
    fresh.headers().clear();
    return TraceContext.propagate(fresh, freshHeaders, tracing, hop);
  }

  /** A sampled request's span: start with the propagated ids, request and response attributes, end (queued for export). */
  @Benchmark
  public void traceSpan() {
    request.headers().set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    TraceContext.propagate(request, headers, tracing, hop);
    Span span = spans.start("GET", hop.traceId(), hop.spanId(), hop.parentSpanId(), System.currentTimeMillis() * 1_000_000);
    SpanExport.requestAttributes(span, "GET", "/productpage", null, "bookinfo", "1.1", "wrk", "10.0.0.1");
    SpanExport.end(span, 200, "-", "outbound|9080||reviews.default.svc.cluster.local", "10.0.0.7:9080");
  }

  @Benchmark
  public void istioMetrics() {
    n++;
    destination.record(200, ResponseFlag.NONE, 850_000 + (n & 1023) * 1000, 0, 100 + (n & 63));
  }

  @Benchmark
  public boolean accessLogRecord() {
    AccessLogRecord r = logger.claim();
    if (r == null) {
      return false; // the writer fell behind: a drop, which is what the event loop would do
    }
    long d = 850_000;
    r.startEpochMillis = System.currentTimeMillis() - d / 1_000_000;
    r.durationNanos = d;
    r.method = "GET";
    r.path = "/productpage";
    r.protocol = "HTTP/1.1";
    r.status = 200;
    r.flag = ResponseFlag.NONE;
    r.bytesReceived = 0;
    r.bytesSent = 100;
    r.upstreamHost = "10.0.0.7:9080";
    r.upstreamCluster = "outbound|9080||reviews.default.svc.cluster.local";
    r.downstreamRemoteAddress = "10.0.0.1:53412";
    r.routeName = "default";
    String[] names = logger.requestHeaders();
    for (int i = 0; i < names.length; i++) {
      r.requestHeaders[i] = names[i].equals(":method") ? "GET" : "v";
    }
    logger.publish(r);
    return true;
  }
}
