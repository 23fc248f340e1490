package io.keelson.dataplane.internal.ffm;

/**
 * How to configure a port: queues, ring sizes and offload bits (DPDK's RTE_ETH_RX_OFFLOAD_* /
 * RTE_ETH_TX_OFFLOAD_* / RTE_ETH_RSS_* values). Immutable.
 */
public record PortSettings(
    int rxQueues, int txQueues, int rxDescriptors, int txDescriptors, long rxOffloads, long txOffloads,
    long rssHashFunctions) {

  public PortSettings {
    if (rxQueues < 1 || txQueues < 1) {
      throw new IllegalArgumentException("a port needs at least one RX and one TX queue");
    }
  }

  /** One RX and one TX queue of the given ring size, no offloads. */
  public static PortSettings simple(int descriptors) {
    return new PortSettings(1, 1, descriptors, descriptors, 0, 0, 0);
  }
}
