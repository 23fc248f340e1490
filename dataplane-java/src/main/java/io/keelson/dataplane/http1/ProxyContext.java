package io.keelson.dataplane.http1;

import io.keelson.dataplane.accesslog.AccessLogService;
import io.keelson.dataplane.accesslog.AccessLogger;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.tracing.SpanExport;
import io.keelson.dataplane.routing.RoutingPipelines;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.transport.Transport;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * What every connection of one proxy process shares: the current snapshot, the routing pipelines, the
 * transport, the counters and the drain flag. Thread-safe: the snapshot is swapped atomically and
 * upstream pools are per event loop.
 */
public final class ProxyContext {
  private volatile ServingSnapshot snapshot;
  private volatile boolean draining;
  final RoutingPipelines pipelines;
  final Transport transport;
  final StatsRegistry stats;
  private final FastThreadLocal<UpstreamPool> pools;
  private FastThreadLocal<?> http2Upstreams; // made by the HTTP/2 codec on first use; guarded by this
  private final java.util.Map<HttpConnectionManagerConfig, AccessLogger> accessLoggers = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile AccessLogService accessLogs;
  private final java.util.Map<io.keelson.dataplane.config.LocalReplyConfig, io.keelson.dataplane.accesslog.LocalReplyRenderer>
      localReplies = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.Map<String, SpanExport> spanExports = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile io.keelson.dataplane.tracing.ZipkinReporters zipkinReporters; // made with the first Zipkin span
  private volatile String serviceCluster;
  private volatile io.keelson.dataplane.tls.offload.TlsOffload tlsOffload =
      io.keelson.dataplane.tls.offload.TlsOffload.DISABLED;

  public ProxyContext(ServingSnapshot snapshot, RoutingPipelines pipelines, Transport transport, StatsRegistry stats) {
    this.snapshot = snapshot;
    this.pipelines = pipelines;
    this.transport = transport;
    this.stats = stats;
    this.pools =
        new FastThreadLocal<>() {
          @Override
          protected UpstreamPool initialValue() {
            return new UpstreamPool(transport, stats);
          }
        };
  }

  /** The process's kernel TLS offload policy (off until the server starts). */
  public io.keelson.dataplane.tls.offload.TlsOffload tlsOffload() {
    return tlsOffload;
  }

  /** Set once by the server at start, before listeners accept. */
  public void tlsOffload(io.keelson.dataplane.tls.offload.TlsOffload offload) {
    this.tlsOffload = offload;
  }

  public ServingSnapshot snapshot() {
    return snapshot;
  }

  /** Swaps in a new snapshot; requests already routed finish on the one they started with. */
  public void snapshot(ServingSnapshot next) {
    ServingSnapshot before = snapshot;
    this.snapshot = next;
    retireAccessLoggers(before, next);
  }

  /**
   * Swaps in {@code change} applied to the current snapshot, atomically against other such swaps
   * (retried on a race, so {@code change} must be pure); returns the snapshot put in.
   */
  public ServingSnapshot updateSnapshot(java.util.function.UnaryOperator<ServingSnapshot> change) {
    while (true) {
      ServingSnapshot current = snapshot;
      ServingSnapshot next = change.apply(current);
      if (current == next) {
        return next;
      }
      if (SNAPSHOT.compareAndSet(this, current, next)) {
        retireAccessLoggers(current, next);
        return next;
      }
    }
  }

  private static final java.lang.invoke.VarHandle SNAPSHOT;

  static {
    try {
      SNAPSHOT = java.lang.invoke.MethodHandles.lookup().findVarHandle(ProxyContext.class, "snapshot", ServingSnapshot.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  public boolean draining() {
    return draining;
  }

  public void startDraining() {
    this.draining = true;
    stats.server().startDraining();
  }

  /** The routing pipelines, for the other protocol codecs (HTTP/2) that route through them. */
  public RoutingPipelines pipelines() {
    return pipelines;
  }

  /** The socket transport, for codecs that open their own upstream connections. */
  public Transport transport() {
    return transport;
  }

  public StatsRegistry stats() {
    return stats;
  }

  /**
   * The access logger of a connection manager, or null when it has none. Called when a connection's
   * listener config changes, not per request; the writer thread starts with the first logger. Kept while a listener
   * of the snapshot in service has this connection manager: a connection still on a retired config gets a logger
   * released at once (its lines are written, its files not kept open).
   */
  AccessLogger accessLogger(HttpConnectionManagerConfig hcm) {
    if (hcm == null || hcm.accessLogs().isEmpty()) {
      return null;
    }
    AccessLogger cached = accessLoggers.get(hcm);
    return cached != null ? cached : newAccessLogger(hcm);
  }

  private synchronized AccessLogger newAccessLogger(HttpConnectionManagerConfig hcm) {
    AccessLogger logger = accessLoggers.get(hcm);
    if (logger != null) {
      return logger;
    }
    logger = accessLogService().logger(hcm.accessLogs());
    ServingSnapshot current = snapshot;
    if (current == null || connectionManagers(current).contains(hcm)) { // no snapshot yet (tests): kept
      accessLoggers.put(hcm, logger);
    } else {
      logger.release();
    }
    return logger;
  }

  /** Releases the loggers of the connection managers {@code next} no longer has, when its config changed. */
  private synchronized void retireAccessLoggers(ServingSnapshot before, ServingSnapshot next) {
    if (next == null || before != null && before.config() == next.config() || accessLoggers.isEmpty()) {
      return; // a warmed cluster joined: the listeners are the same
    }
    java.util.Set<HttpConnectionManagerConfig> live = connectionManagers(next);
    accessLoggers.entrySet().removeIf(e -> {
      if (live.contains(e.getKey())) {
        return false;
      }
      e.getValue().release();
      return true;
    });
  }

  private static java.util.Set<HttpConnectionManagerConfig> connectionManagers(ServingSnapshot s) {
    java.util.Set<HttpConnectionManagerConfig> out = new java.util.HashSet<>();
    s.config().listeners().forEach(l -> l.withChains().forEach(chain -> {
      if (chain.http() != null) {
        out.add(chain.http());
      }
    }));
    return out;
  }

  /** The connection managers with an access logger kept (those of the snapshot in service that logged), for tests. */
  public int accessLoggerCount() {
    return accessLoggers.size();
  }

  /**
   * The compiled local_reply_config of a connection manager, or null when it rewrites nothing. Compiled once per config
   * (the translator has checked it); a lookup hashes the small config record and allocates nothing. Thread-safe.
   */
  public io.keelson.dataplane.accesslog.LocalReplyRenderer localReplies(HttpConnectionManagerConfig hcm) {
    if (hcm == null || hcm.localReply().isEmpty()) {
      return null;
    }
    var renderer = localReplies.get(hcm.localReply());
    if (renderer == null) {
      if (localReplies.size() > 64) {
        localReplies.clear(); // configs replaced over time: keep the cache bounded
      }
      renderer = localReplies.computeIfAbsent(hcm.localReply(), io.keelson.dataplane.accesslog.LocalReplyRenderer::compile);
    }
    return renderer;
  }

  /** The process's access log writer (started on first use). */
  public synchronized AccessLogService accessLogService() {
    if (accessLogs == null) {
      accessLogs = new AccessLogService(AccessLogService.DEFAULT_RING_SIZE);
    }
    return accessLogs;
  }

  /** Uses this writer instead of the default one (tests: a small ring, a captured stdout). Before traffic. */
  public synchronized void accessLogService(AccessLogService service) {
    this.accessLogs = service;
    accessLoggers.clear();
  }

  /** The access log writer if one was started, else null. */
  public AccessLogService accessLogServiceIfStarted() {
    return accessLogs;
  }

  /**
   * The span exporter to a tracing config's collector cluster (its first endpoint), started on first
   * use; null when the config names no collector or the cluster has no endpoint.
   */
  SpanExport spanExport(TracingConfig tracing) {
    String name = tracing.collectorCluster();
    if (name == null) {
      return null;
    }
    SpanExport e = spanExports.get(name);
    if (e != null) {
      return e;
    }
    var cluster = snapshot.config().cluster(name);
    if (cluster == null || cluster.endpoints().isEmpty()) {
      return null;
    }
    var ep = cluster.endpoints().get(0);
    return spanExports.computeIfAbsent(name, n -> new SpanExport(ep.host(), ep.port(), tracing.serviceName()));
  }

  /**
   * Starts this hop's span with its propagated ids on its connection manager's tracer (OpenTelemetry or Zipkin); null
   * when there is no collector to report to. Called on the exchange's event loop.
   *
   * @param startNanos the exchange's start on {@link System#nanoTime()}
   */
  io.keelson.dataplane.tracing.HopSpan startSpan(TracingConfig tracing, TraceContext.Hop hop, String name, long startNanos) {
    long startEpochNanos = System.currentTimeMillis() * 1_000_000 - (System.nanoTime() - startNanos);
    if (tracing.zipkin() != null) {
      var reporter = zipkinReporter(tracing);
      return reporter == null ? null : reporter.start(hop.traceHi, hop.traceLo, hop.traceId128, hop.span, hop.parent,
          hop.hasParent, tracing.egress(), hop.shared, startEpochNanos, startNanos);
    }
    SpanExport export = spanExport(tracing);
    return export == null ? null
        : export.startHop(name, hop.traceId(), hop.spanId(), hop.parentSpanId(), startEpochNanos);
  }

  /** The calling event loop's reporter to a Zipkin config's collector; null without a collector or off a loop. */
  private io.keelson.dataplane.tracing.ZipkinReporter zipkinReporter(TracingConfig tracing) {
    if (tracing.collectorCluster() == null
        || !(io.netty.util.internal.ThreadExecutorMap.currentExecutor() instanceof io.netty.channel.EventLoop loop)) {
      return null;
    }
    return zipkinReporters().reporter(tracing.collectorCluster(), tracing.zipkin(), loop, pool().calls());
  }

  private io.keelson.dataplane.tracing.ZipkinReporters zipkinReporters() {
    var z = zipkinReporters;
    if (z != null) {
      return z;
    }
    synchronized (this) {
      if (zipkinReporters == null) {
        zipkinReporters = new io.keelson.dataplane.tracing.ZipkinReporters(stats, this::snapshot, () -> serviceCluster);
      }
      return zipkinReporters;
    }
  }

  /** The node's service cluster (bootstrap {@code node.cluster}): the Zipkin spans' local service name. */
  public void serviceCluster(String cluster) {
    this.serviceCluster = cluster == null || cluster.isEmpty() ? null : cluster;
  }

  /** Flushes and stops the span exporters (shutdown path). */
  public synchronized void closeSpanExports() {
    spanExports.values().forEach(SpanExport::close);
    spanExports.clear();
    if (zipkinReporters != null) {
      zipkinReporters.close();
    }
  }

  /**
   * The HTTP/2 codec's per-event-loop upstream channels of this proxy, made by {@code make} on first use. Kept here,
   * with the rest of what a proxy owns, so that they go when the proxy is closed and dropped.
   */
  @SuppressWarnings("unchecked")
  public synchronized <T> FastThreadLocal<T> http2Upstreams(java.util.function.Supplier<FastThreadLocal<T>> make) {
    if (http2Upstreams == null) {
      http2Upstreams = make.get();
    }
    return (FastThreadLocal<T>) http2Upstreams;
  }

  /** The upstream pool of the calling event loop. */
  UpstreamPool pool() {
    return pools.get();
  }
}
