package io.keelson.dataplane.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * Downstream counters of one HTTP connection manager (Envoy's {@code http.<stat_prefix>.*}).
 * Thread-safe: written by every event loop, read by the admin thread.
 */
public final class HttpStats {
  final String prefix;
  public final LongAdder cxTotal = new LongAdder();
  public final LongAdder cxActive = new LongAdder();
  public final LongAdder rqTotal = new LongAdder();
  public final LongAdder rqTimeout = new LongAdder();
  public final LongAdder rqRejectedBadRequest = new LongAdder();
  /**
   * HTTP/2 and HTTP/3 connections closed because the client reset too many of their streams prematurely
   * (downstream_rq_too_many_premature_resets, as Envoy).
   */
  public final LongAdder rqTooManyPrematureResets = new LongAdder();
  /** Streams the client reset (HTTP/2 RST_STREAM, QUIC RESET_STREAM): downstream_rq_rx_reset. */
  public final LongAdder rqRxReset = new LongAdder();
  /** By codec, as Envoy: downstream_cx_http2_total / _active, downstream_cx_http3_total / _active. */
  public final LongAdder cxHttp2Total = new LongAdder();
  public final LongAdder cxHttp2Active = new LongAdder();
  public final LongAdder cxHttp3Total = new LongAdder();
  public final LongAdder cxHttp3Active = new LongAdder();
  /** Requests by codec: downstream_rq_http2_total, downstream_rq_http3_total. */
  public final LongAdder rqHttp2Total = new LongAdder();
  public final LongAdder rqHttp3Total = new LongAdder();
  /** Exchanges cut by the stream idle timeout (downstream_rq_idle_timeout). */
  public final LongAdder rqIdleTimeout = new LongAdder();
  /** Upgrades the upstream accepted (101): downstream_cx_upgrades_total, and those still open (_active). */
  public final LongAdder cxUpgradesTotal = new LongAdder();
  public final LongAdder cxUpgradesActive = new LongAdder();
  /** Requests refused (400) by the connection manager's path normalization (downstream_rq_failed_path_normalization). */
  public final LongAdder rqFailedPathNormalization = new LongAdder();
  /** Requests redirected (307) to their unescaped path (downstream_rq_redirected_with_normalized_path). */
  public final LongAdder rqRedirectedWithNormalizedPath = new LongAdder();
  /** Index 1..5 = 1xx..5xx. */
  private final LongAdder[] rqByClass = newClasses();
  /** Istio's request metrics of requests that never reached a cluster (no route, direct responses, ...). */
  public final IstioDestination istioUnknown;

  HttpStats(String prefix, IstioDestination unknown) {
    this.prefix = prefix;
    this.istioUnknown = unknown;
  }

  public void recordResponse(int status) {
    rqByClass[Math.min(5, Math.max(1, status / 100))].increment();
  }

  public long responses(int statusClass) {
    return rqByClass[statusClass].sum();
  }

  static LongAdder[] newClasses() {
    LongAdder[] classes = new LongAdder[6];
    for (int i = 1; i < classes.length; i++) {
      classes[i] = new LongAdder();
    }
    return classes;
  }
}
