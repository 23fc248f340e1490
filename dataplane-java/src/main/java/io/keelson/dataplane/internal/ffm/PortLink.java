package io.keelson.dataplane.internal.ffm;

/** A port's link state ({@code rte_eth_link}). Immutable. */
public record PortLink(boolean up, int speedMbps, boolean fullDuplex) {}
