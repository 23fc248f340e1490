package io.keelson.dataplane.gateway;

/**
 * The gateway I/O's per-port counters. Names are stable: they are the Prometheus metric names
 * ({@code keelson_gateway_<name>{port="..."}}); add new ones at the end. Drops decided by the packet
 * pipeline are counted per {@link io.keelson.dataplane.packet.DropReason} separately.
 *
 * <p>Threading: immutable enum.
 */
public enum GatewayCounter {
  RX_PACKETS("rx_packets"),
  RX_BURSTS("rx_bursts"),
  TX_PACKETS("tx_packets"),
  /** The device's TX ring was full: packets freed. */
  TX_RING_FULL("tx_ring_full_dropped"),
  /** The pipeline ring was full: the whole burst freed. */
  PIPELINE_FULL("pipeline_full_dropped"),
  /** Packets the pipeline dropped (by any reason; per-reason counts are separate). */
  PIPELINE_DROPPED("pipeline_dropped"),
  /** Packets handed to the kernel through the exception (TAP) port. */
  TO_EXCEPTION("exception_out_packets"),
  /** Packets the kernel sent back through the exception port, forwarded to the wire. */
  FROM_EXCEPTION("exception_in_packets"),
  /** Frames the gateway originated (ARP requests) or copied (ARP to the kernel). */
  ORIGINATED("originated_packets"),
  /** No mbuf for an originated frame, or no exception port for a TO_EXCEPTION verdict. */
  NO_MBUF_OR_PORT("originate_failed");

  private final String metricName;

  GatewayCounter(String metricName) {
    this.metricName = metricName;
  }

  public String metricName() {
    return metricName;
  }
}
