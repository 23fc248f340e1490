package io.keelson.dataplane.gateway;

import io.keelson.dataplane.internal.ffm.DpdkPort;
import io.keelson.dataplane.internal.ffm.PortStats;
import io.keelson.dataplane.packet.DropReason;
import java.util.Locale;
import java.util.Map;

/**
 * The gateway's counters as Prometheus text and as a one-line summary. Names are stable:
 * {@code keelson_gateway_<counter>{port="<role>"}}, {@code keelson_gateway_drops_total{reason="..."}},
 * {@code keelson_dpdk_port_<field>{port="<role>"}}.
 *
 * <p>Threading: reads counters from any thread (values are recent, not a consistent cut).
 */
public final class GatewayMetrics {
  private GatewayMetrics() {}

  public static String prometheus(GatewayRuntime runtime) {
    StringBuilder out = new StringBuilder(4096);
    Map<String, DpdkPort> ports = runtime.ports();
    for (GatewayCounter c : GatewayCounter.values()) {
      String name = "keelson_gateway_" + c.metricName();
      out.append("# TYPE ").append(name).append(" counter\n");
      for (String role : ports.keySet()) {
        out.append(name).append("{port=\"").append(role).append("\"} ").append(runtime.counter(role, c)).append('\n');
      }
    }
    out.append("# TYPE keelson_gateway_drops_total counter\n");
    long[] drops = runtime.stages().dropCounts();
    for (DropReason r : DropReason.values()) {
      out.append("keelson_gateway_drops_total{reason=\"").append(r.label()).append("\"} ")
          .append(drops[r.ordinal()]).append('\n');
    }
    out.append("# TYPE keelson_gateway_tracked_flows gauge\nkeelson_gateway_tracked_flows ")
        .append(runtime.stages().trackedFlows()).append('\n');
    out.append("# TYPE keelson_gateway_pipeline_depth gauge\nkeelson_gateway_pipeline_depth ")
        .append(runtime.pipelineDepth()).append('\n');
    for (Map.Entry<String, DpdkPort> e : ports.entrySet()) {
      PortStats s = e.getValue().stats();
      String label = "{port=\"" + e.getKey() + "\"} ";
      out.append("keelson_dpdk_port_ipackets").append(label).append(s.ipackets()).append('\n')
          .append("keelson_dpdk_port_opackets").append(label).append(s.opackets()).append('\n')
          .append("keelson_dpdk_port_imissed").append(label).append(s.imissed()).append('\n')
          .append("keelson_dpdk_port_ierrors").append(label).append(s.ierrors()).append('\n')
          .append("keelson_dpdk_port_oerrors").append(label).append(s.oerrors()).append('\n')
          .append("keelson_dpdk_port_rx_nombuf").append(label).append(s.rxNoMbuf()).append('\n');
    }
    return out.toString();
  }

  /**
   * "stats t=SECONDS rx=... tx=... flows=... drops: reason=n ..." (only non-zero reasons); t is the
   * monotonic time since the gateway started, so rates can be computed from two lines.
   */
  public static String statsLine(GatewayRuntime runtime) {
    long rx = 0;
    long tx = 0;
    long full = 0;
    for (String role : runtime.ports().keySet()) {
      rx += runtime.counter(role, GatewayCounter.RX_PACKETS);
      tx += runtime.counter(role, GatewayCounter.TX_PACKETS);
      full += runtime.counter(role, GatewayCounter.PIPELINE_FULL);
    }
    StringBuilder out = new StringBuilder("stats t=")
        .append(String.format(Locale.ROOT, "%.3f", runtime.uptimeNanos() / 1e9)).append(" rx=").append(rx).append(" tx=").append(tx)
        .append(" poller_cpu=").append(String.format(Locale.ROOT, "%.3f", runtime.pollerCpuNanos() / 1e9))
        .append(" pipeline_full=").append(full)
        .append(" worker_cpu=").append(String.format(Locale.ROOT, "%.3f", runtime.workerCpuNanos() / 1e9))
        .append(" flows=").append(runtime.stages().trackedFlows()).append(" drops:");
    long[] drops = runtime.stages().dropCounts();
    for (DropReason r : DropReason.values()) {
      if (drops[r.ordinal()] > 0) {
        out.append(' ').append(r.label()).append('=').append(drops[r.ordinal()]);
      }
    }
    return out.toString();
  }
}
