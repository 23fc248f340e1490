package io.keelson.dataplane.stats;

import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's tcp_proxy counters of one stat_prefix ({@code tcp.<stat_prefix>.*}). Thread-safe.
 */
public final class TcpStats {
  final String prefix;
  public final LongAdder cxTotal = new LongAdder();
  public final LongAdder cxNoRoute = new LongAdder();
  public final LongAdder rxBytes = new LongAdder();
  public final LongAdder txBytes = new LongAdder();
  public final LongAdder idleTimeout = new LongAdder();
  public final LongAdder upstreamFlushTotal = new LongAdder();
  public final LongAdder upstreamFlushActive = new LongAdder();
  public final LongAdder pausedReading = new LongAdder();
  public final LongAdder resumedReading = new LongAdder();

  TcpStats(String prefix) {
    this.prefix = prefix;
  }

  private long[] values() {
    return new long[] {cxTotal.sum(), cxNoRoute.sum(), rxBytes.sum(), txBytes.sum(), idleTimeout.sum(),
        upstreamFlushTotal.sum(), upstreamFlushActive.sum(), pausedReading.sum(), resumedReading.sum()};
  }

  private static final String[] NAMES = {
    "downstream_cx_total", "downstream_cx_no_route", "downstream_cx_rx_bytes_total", "downstream_cx_tx_bytes_total",
    "idle_timeout", "upstream_flush_total", "upstream_flush_active",
    "downstream_flow_control_paused_reading_total", "downstream_flow_control_resumed_reading_total",
  };

  void writeEnvoyText(Map<String, Long> out) {
    long[] v = values();
    for (int i = 0; i < NAMES.length; i++) {
      out.put("tcp." + prefix + "." + NAMES[i], v[i]);
    }
  }

  static void writePrometheus(PrometheusWriter w, Iterable<TcpStats> all) {
    for (int i = 0; i < NAMES.length; i++) {
      String name = "envoy_tcp_" + NAMES[i];
      w.type(name, NAMES[i].equals("upstream_flush_active") ? "gauge" : "counter");
      for (TcpStats s : all) {
        w.sample(name, s.values()[i], "envoy_tcp_prefix", s.prefix);
      }
    }
  }
}
