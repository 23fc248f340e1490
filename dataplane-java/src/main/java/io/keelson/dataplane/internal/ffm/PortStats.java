package io.keelson.dataplane.internal.ffm;

/**
 * A port's hardware/PMD counters at one instant ({@code rte_eth_stats}). Immutable.
 *
 * @param imissed  packets the device dropped because the RX ring was full
 * @param rxNoMbuf RX mbuf allocation failures (pool too small)
 */
public record PortStats(
    long ipackets, long opackets, long ibytes, long obytes, long imissed, long ierrors, long oerrors,
    long rxNoMbuf) {}
