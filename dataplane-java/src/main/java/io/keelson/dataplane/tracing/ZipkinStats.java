package io.keelson.dataplane.tracing;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * The Zipkin tracer's counters in Envoy's {@code tracing.zipkin.*} names: spans handed to a report sent to the collector
 * (Envoy also counts those of a report skipped for a missing cluster; Keelson counts them dropped), timer flushes, reports
 * the collector accepted (202), answered otherwise (dropped), never answered (failed: no connection, reset, timeout) or
 * could not send (no such cluster); plus Keelson's {@code spans_dropped}: spans lost to a full queue, an unaccepted
 * or a skipped report. Shared by every reporter of a proxy. Thread-safe.
 */
record ZipkinStats(LongAdder spansSent, LongAdder timerFlushed, LongAdder reportsSent, LongAdder reportsDropped,
    LongAdder reportsFailed, LongAdder reportsSkippedNoCluster, LongAdder spansDropped) {
  static ZipkinStats of(StatsRegistry stats) {
    String p = "tracing.zipkin.";
    return new ZipkinStats(stats.counter(p + "spans_sent"), stats.counter(p + "timer_flushed"),
        stats.counter(p + "reports_sent"), stats.counter(p + "reports_dropped"), stats.counter(p + "reports_failed"),
        stats.counter(p + "reports_skipped_no_cluster"), stats.counter(p + "spans_dropped"));
  }
}
