/**
 * The L4 gateway's I/O: DPDK ports from a hardware profile, one poller agent per RX queue that
 * receives bursts, runs them through the packet pipeline ({@link io.keelson.dataplane.packet}) inline
 * or on a Disruptor ring, and transmits them by verdict; per-port counters; the {@code gateway}
 * command.
 */
package io.keelson.dataplane.gateway;
