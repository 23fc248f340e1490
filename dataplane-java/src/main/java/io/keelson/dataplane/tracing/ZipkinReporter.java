package io.keelson.dataplane.tracing;

import io.keelson.dataplane.config.ZipkinTracing;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One event loop's Zipkin reporter for one collector, as Envoy's per-worker {@code ReporterImpl}: finished spans wait in a
 * bounded buffer and are POSTed (JSON v2 or proto3) to the collector cluster with the loop's own upstream client
 * ({@link SideCall}) once {@value #MIN_FLUSH_SPANS} are pending (Envoy's {@code tracing.zipkin.min_flush_spans}) or
 * every {@value #FLUSH_INTERVAL_MILLIS} ms ({@code tracing.zipkin.flush_interval_ms}). At most
 * {@value #MAX_REPORTS_IN_FLIGHT} reports are outstanding; spans beyond {@value #MAX_PENDING_SPANS} waiting, the
 * spans of a report the collector did not accept, and those of a report skipped for a missing collector cluster (not
 * counted sent) are dropped and counted. Nothing blocks the loop. Event-loop confined.
 */
public final class ZipkinReporter {
  static final int MIN_FLUSH_SPANS = 5;
  static final long FLUSH_INTERVAL_MILLIS = 5_000;
  /** Envoy's {@code tracing.zipkin.request_timeout}. */
  static final long REQUEST_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  static final int MAX_PENDING_SPANS = 1_000;
  static final int MAX_REPORTS_IN_FLIGHT = 4;
  /** The collector's answer body is not read; a longer one still counts as an answer. */
  private static final int MAX_ANSWER_BYTES = 64 * 1024;
  private static final int FAILED = -1;

  private final String cluster;
  private final ZipkinTracing settings;
  private final EventLoop loop;
  private final UpstreamCalls calls;
  private final Supplier<ServingSnapshot> snapshots;
  private final Supplier<String> serviceName;
  private final ZipkinStats stats;
  private final ScheduledFuture<?> timer;
  private List<ZipkinSpan> pending = new ArrayList<>(MIN_FLUSH_SPANS);
  private int inFlight;
  /** Replaced by a newer collector on its loop ({@link #retire}): no timer; what reaches it is sent at once. */
  private boolean retired;

  ZipkinReporter(String cluster, ZipkinTracing settings, EventLoop loop, UpstreamCalls calls,
      Supplier<ServingSnapshot> snapshots, Supplier<String> serviceName, ZipkinStats stats) {
    this.cluster = cluster;
    this.settings = settings;
    this.loop = loop;
    this.calls = calls;
    this.snapshots = snapshots;
    this.serviceName = serviceName;
    this.stats = stats;
    this.timer = loop.scheduleAtFixedRate(this::onTimer, FLUSH_INTERVAL_MILLIS, FLUSH_INTERVAL_MILLIS,
        TimeUnit.MILLISECONDS);
  }

  /**
   * A span with these ids, reported to this collector when it ends.
   *
   * @param startEpochNanos the exchange's start, wall clock
   * @param startNanos      the same instant on {@link System#nanoTime()}
   */
  public ZipkinSpan start(long traceHi, long traceLo, boolean traceId128, long id, long parentId, boolean hasParent,
      boolean client, boolean shared, long startEpochNanos, long startNanos) {
    return new ZipkinSpan(this, traceHi, traceLo, traceId128, id, parentId, hasParent, client, shared, serviceName.get(),
        startEpochNanos, startNanos);
  }

  int maxPathTagLength() {
    return settings.maxPathTagLength();
  }

  void report(ZipkinSpan span) {
    if (pending.size() >= MAX_PENDING_SPANS) {
      stats.spansDropped().increment();
      return;
    }
    pending.add(span);
    if (retired || pending.size() >= MIN_FLUSH_SPANS) {
      flush();
    }
  }

  private void onTimer() {
    stats.timerFlushed().increment();
    flush();
  }

  private void flush() {
    if (pending.isEmpty() || inFlight >= MAX_REPORTS_IN_FLIGHT) {
      return; // the spans wait for a report to end (or the queue bound drops new ones)
    }
    List<ZipkinSpan> batch = pending;
    pending = new ArrayList<>(MIN_FLUSH_SPANS);
    int n = batch.size();
    ServingSnapshot snapshot = snapshots.get();
    if (snapshot.cluster(cluster) == null) {
      stats.reportsSkippedNoCluster().increment();
      stats.spansDropped().add(n); // never sent: counted dropped only
      return;
    }
    stats.spansSent().add(n);
    byte[] body = settings.proto() ? ZipkinProto.encode(batch) : ZipkinJson.encode(batch);
    inFlight++;
    SideCall.send(loop, calls, snapshot, cluster, REQUEST_TIMEOUT_NANOS, MAX_ANSWER_BYTES, () -> request(body),
        UpstreamCalls.Response::status, reason -> FAILED, status -> answered(status, n));
  }

  private FullHttpRequest request(byte[] body) {
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, settings.collectorEndpoint(),
        Unpooled.wrappedBuffer(body));
    r.headers().set("host", settings.collectorHostname() != null ? settings.collectorHostname() : cluster);
    r.headers().set("content-type", settings.proto() ? "application/x-protobuf" : "application/json");
    r.headers().set("content-length", body.length);
    return r;
  }

  private void answered(int status, int spans) {
    inFlight--;
    if (status == 202) {
      stats.reportsSent().increment();
    } else {
      (status == FAILED ? stats.reportsFailed() : stats.reportsDropped()).increment();
      stats.spansDropped().add(spans);
    }
    if (retired ? !pending.isEmpty() : pending.size() >= MIN_FLUSH_SPANS) {
      flush();
    }
  }

  /**
   * Its loop has too many collectors and makes a new one: the timer stops and the spans waiting are sent now (those a
   * full set of reports in flight holds back go when one ends), as are spans of requests still open that end later.
   * On the loop.
   */
  void retire() {
    retired = true;
    timer.cancel(false);
    flush();
  }

  /** Stops the flush timer (the proxy is closing); spans still waiting are not sent. */
  void close() {
    timer.cancel(false);
  }
}
