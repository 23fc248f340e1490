package io.keelson.dataplane.udp;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's udp_proxy counters of one stat_prefix ({@code udp.<stat_prefix>.*}) and the cluster's {@code udp.*} ones,
 * looked up once per listener. Thread-safe (adders and an atomic gauge).
 */
final class UdpProxyStats {
  final LongAdder sessTotal;
  final AtomicLong sessActive;
  final LongAdder rxDatagrams;
  final LongAdder rxBytes;
  final LongAdder txDatagrams;
  final LongAdder txBytes;
  final LongAdder rxDatagramsDropped;
  final LongAdder noRoute;
  final LongAdder idleTimeout;
  final LongAdder txErrors;

  UdpProxyStats(StatsRegistry stats, String statPrefix) {
    String p = "udp." + statPrefix + ".";
    sessTotal = stats.counter(p + "downstream_sess_total");
    sessActive = stats.gauge(p + "downstream_sess_active");
    rxDatagrams = stats.counter(p + "downstream_sess_rx_datagrams");
    rxBytes = stats.counter(p + "downstream_sess_rx_bytes");
    txDatagrams = stats.counter(p + "downstream_sess_tx_datagrams");
    txBytes = stats.counter(p + "downstream_sess_tx_bytes");
    rxDatagramsDropped = stats.counter(p + "downstream_sess_rx_datagrams_dropped");
    noRoute = stats.counter(p + "downstream_sess_no_route");
    idleTimeout = stats.counter(p + "idle_timeout");
    txErrors = stats.counter(p + "downstream_sess_tx_errors");
  }

  /** A cluster's session counters ({@code cluster.<name>.udp.*}). */
  record Cluster(LongAdder sessRxDatagrams, LongAdder sessTxDatagrams, LongAdder sessRxBytes, LongAdder sessTxBytes,
      LongAdder noneHealthy, LongAdder sessRxErrors) {
    static Cluster of(StatsRegistry stats, String cluster) {
      String p = "cluster." + cluster + ".";
      return new Cluster(stats.counter(p + "udp.sess_rx_datagrams"), stats.counter(p + "udp.sess_tx_datagrams"),
          stats.counter(p + "upstream_cx_rx_bytes_total"), stats.counter(p + "upstream_cx_tx_bytes_total"),
          stats.counter(p + "upstream_cx_none_healthy"), stats.counter(p + "udp.sess_rx_errors"));
    }
  }
}
